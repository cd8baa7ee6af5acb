package k8spath

import (
	"strings"
	"testing"
)

const (
	id   = "3f2a9c0d4b8e7f6a5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b"
	uuid = "5c0e8a52-3f1b-4c7e-9d2a-6b8f0e1c2d3a"
)

func TestParse(t *testing.T) {
	none := Meta{RestartCount: -1}
	tests := []struct {
		name         string
		link, target string
		want         Meta
	}{
		{
			name:   "link and target",
			link:   "/var/log/containers/web-7d4b9c-x2x9q_shop_nginx-" + id + ".log",
			target: "/var/log/pods/shop_web-7d4b9c-x2x9q_" + uuid + "/nginx/0.log",
			want:   Meta{Namespace: "shop", PodName: "web-7d4b9c-x2x9q", PodUID: uuid, ContainerName: "nginx", ContainerID: id, RestartCount: 0},
		},
		{
			name: "link only",
			link: "/var/log/containers/web-7d4b9c-x2x9q_shop_nginx-" + id + ".log",
			want: Meta{Namespace: "shop", PodName: "web-7d4b9c-x2x9q", ContainerName: "nginx", ContainerID: id, RestartCount: -1},
		},
		{
			name:   "target only, after restarts",
			target: "/var/log/pods/shop_cart-5f8d7b6c4-mz7lp_" + uuid + "/cart/12.log",
			want:   Meta{Namespace: "shop", PodName: "cart-5f8d7b6c4-mz7lp", PodUID: uuid, ContainerName: "cart", RestartCount: 12},
		},
		{
			name:   "container name with dashes splits at the last dash",
			link:   "ledger-0_payments_ledger-api-db-migrate-" + id + ".log",
			target: "../pods/payments_ledger-0_" + uuid + "/ledger-api-db-migrate/1.log",
			want:   Meta{Namespace: "payments", PodName: "ledger-0", PodUID: uuid, ContainerName: "ledger-api-db-migrate", ContainerID: id, RestartCount: 1},
		},
		{
			name:   "dots in pod name",
			link:   "/var/log/containers/my.app.log-1_team-a_c-" + id + ".log",
			target: "/var/log/pods/team-a_my.app.log-1_" + uuid + "/c/0.log",
			want:   Meta{Namespace: "team-a", PodName: "my.app.log-1", PodUID: uuid, ContainerName: "c", ContainerID: id, RestartCount: 0},
		},
		{
			name:   "static pod has a 32 hex uid",
			target: "/var/log/pods/kube-system_etcd-node-1_8d1c3e5f7a9b2d4c6e8f0a1b3c5d7e9f/etcd/0.log",
			want:   Meta{Namespace: "kube-system", PodName: "etcd-node-1", PodUID: "8d1c3e5f7a9b2d4c6e8f0a1b3c5d7e9f", ContainerName: "etcd", RestartCount: 0},
		},
		{
			name:   "rotated target",
			target: "/var/log/pods/shop_web_" + uuid + "/nginx/3.log.20261124-101500",
			want:   Meta{Namespace: "shop", PodName: "web", PodUID: uuid, ContainerName: "nginx", RestartCount: 3},
		},
		{
			name:   "compressed rotated target",
			target: "/var/log/pods/shop_web_" + uuid + "/nginx/0.log.20261124-101500.gz",
			want:   Meta{Namespace: "shop", PodName: "web", PodUID: uuid, ContainerName: "nginx", RestartCount: 0},
		},
		{
			name:   "target wins where they disagree",
			link:   "/var/log/containers/old_other_sidecar-" + id + ".log",
			target: "/var/log/pods/shop_web_" + uuid + "/nginx/0.log",
			want:   Meta{Namespace: "shop", PodName: "web", PodUID: uuid, ContainerName: "nginx", ContainerID: id, RestartCount: 0},
		},
		{
			name:   "docker-era target gives only what the link says",
			link:   "/var/log/containers/web_shop_nginx-" + id + ".log",
			target: "/var/lib/docker/containers/" + id + "/" + id + "-json.log",
			want:   Meta{Namespace: "shop", PodName: "web", ContainerName: "nginx", ContainerID: id, RestartCount: -1},
		},
		{
			name:   "relative target",
			target: "shop_web_" + uuid + "/nginx/0.log",
			want:   Meta{Namespace: "shop", PodName: "web", PodUID: uuid, ContainerName: "nginx", RestartCount: 0},
		},
		{name: "relative link", link: "web_shop_nginx-" + id + ".log",
			want: Meta{Namespace: "shop", PodName: "web", ContainerName: "nginx", ContainerID: id, RestartCount: -1}},
		{name: "empty", want: none},
		{name: "root", link: "/", target: "/", want: none},
		{name: "garbage", link: "\x00_-.log", target: "__/_/.log", want: none},
		{name: "plain file", link: "/var/log/syslog", target: "/var/log/syslog", want: none},
		{name: "id too short", link: "web_shop_nginx-" + id[:63] + ".log", want: none},
		{name: "id upper case", link: "web_shop_nginx-" + strings.ToUpper(id) + ".log", want: none},
		{name: "no container", link: "web_shop_-" + id + ".log", want: none},
		{name: "too many underscores", link: "web_shop_x_nginx-" + id + ".log", want: none},
		{name: "link without .log", link: "web_shop_nginx-" + id, want: none},
		{name: "pod dir with two parts", target: "/var/log/pods/shop_web/nginx/0.log", want: none},
		{name: "empty uid", target: "/var/log/pods/shop_web_/nginx/0.log", want: none},
		{name: "restart not a number", target: "/var/log/pods/shop_web_u/nginx/x.log", want: none},
		{name: "restart too long", target: "/var/log/pods/shop_web_u/nginx/99999999999999999999.log", want: none},
		{name: "bad rotation suffix", target: "/var/log/pods/shop_web_u/nginx/0.log.1", want: none},
		{name: "tmp suffix", target: "/var/log/pods/shop_web_u/nginx/0.log.tmp", want: none},
		{name: "empty container dir", target: "/var/log/pods/shop_web_u//0.log", want: none},
		{name: "only file", target: "0.log", want: none},
		{name: "old kubelet layout", target: "/var/log/pods/" + uuid + "/nginx_0.log", want: none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.link, tt.target); got != tt.want {
				t.Errorf("Parse(%q, %q)\n got %+v\nwant %+v", tt.link, tt.target, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("/var/log/containers/web_shop_nginx-"+id+".log", "/var/log/pods/shop_web_"+uuid+"/nginx/0.log")
	f.Add("", "/var/log/pods/shop_web_u/c/1.log.20261124-101500.gz")
	f.Add("a_b_c-"+id+".log", "x/a_b_c/d/0.log")
	f.Add("/", "")
	f.Fuzz(func(t *testing.T, link, target string) {
		m := Parse(link, target)
		for _, v := range []string{m.Namespace, m.PodName, m.PodUID, m.ContainerName, m.ContainerID} {
			if v != "" && !strings.Contains(link, v) && !strings.Contains(target, v) {
				t.Fatalf("Parse(%q, %q) = %+v: %q is in neither input", link, target, m, v)
			}
		}
		if m.RestartCount < -1 {
			t.Fatalf("Parse(%q, %q): RestartCount %d", link, target, m.RestartCount)
		}
		if (m.PodUID == "") != (m.RestartCount == -1) {
			t.Fatalf("Parse(%q, %q) = %+v: uid and restart come together from the target", link, target, m)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	link := "/var/log/containers/web-7d4b9c-x2x9q_shop_nginx-" + id + ".log"
	target := "/var/log/pods/shop_web-7d4b9c-x2x9q_" + uuid + "/nginx/0.log"
	b.ReportAllocs()
	for b.Loop() {
		if Parse(link, target).RestartCount != 0 {
			b.Fatal("unexpected")
		}
	}
}
