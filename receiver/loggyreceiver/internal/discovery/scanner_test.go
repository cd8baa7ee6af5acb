package discovery

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8spath"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The containers of testdata/node, by the name of their link in var/log/containers.
const (
	webLink    = "web-7d4b9c-x2x9q_shop_nginx-f637845d70aea23d27ad2ad7d0040d10466d94d2fa69fa04c951bec9197dec51.log"
	cart0Link  = "cart-5f8d7b6c4-mz7lp_shop_cart-2991cd3e54b2a532e479c7127af8f794ecc9003c40c60f62ff51be81f9fec217.log"
	cart1Link  = "cart-5f8d7b6c4-mz7lp_shop_cart-0f1f6eff0ab001dc2ea3ac93a7ea35999d57d19c0c293a1ba6db097ff558c780.log"
	ledgerLink = "ledger-0_payments_ledger-api-44782d054b5edca02c755e2b22de0f970e9a861a677f577abbaeff6a3460b50c.log"
	workerLink = "invoice-worker-6c9f8d5b7-q4w2e_billing_worker-e8c47b2febb4e49e530fc4ede83e970b2eda5aad6ca121267170d7902d9d3251.log"
	dnsLink    = "coredns-76f75df574-8xk2p_kube-system_coredns-997570191e44cd37188b69ce7c63cc69558a671db5899b880d70b28ab9fa4872.log"
	etcdLink   = "etcd-node-1_kube-system_etcd-48d1993734ab0baedfa87b7f9fd2683d5aef928d649ddc9e9850043e8c301b0f.log"
	workerID   = "e8c47b2febb4e49e530fc4ede83e970b2eda5aad6ca121267170d7902d9d3251"
)

// expected is what Scan should find for each link of testdata/node: the real
// file relative to the node root, and the Meta.
var expected = map[string]struct {
	real string
	meta k8spath.Meta
}{
	webLink: {"var/log/pods/shop_web-7d4b9c-x2x9q_ec552847-28ce-4509-8781-2cc561f8a02a/nginx/0.log", k8spath.Meta{
		Namespace: "shop", PodName: "web-7d4b9c-x2x9q", PodUID: "ec552847-28ce-4509-8781-2cc561f8a02a", ContainerName: "nginx",
		ContainerID: "f637845d70aea23d27ad2ad7d0040d10466d94d2fa69fa04c951bec9197dec51", RestartCount: 0}},
	cart0Link: {"var/log/pods/shop_cart-5f8d7b6c4-mz7lp_78160639-e975-41b8-86a6-4bbe5f15f5a1/cart/0.log", k8spath.Meta{
		Namespace: "shop", PodName: "cart-5f8d7b6c4-mz7lp", PodUID: "78160639-e975-41b8-86a6-4bbe5f15f5a1", ContainerName: "cart",
		ContainerID: "2991cd3e54b2a532e479c7127af8f794ecc9003c40c60f62ff51be81f9fec217", RestartCount: 0}},
	cart1Link: {"var/log/pods/shop_cart-5f8d7b6c4-mz7lp_78160639-e975-41b8-86a6-4bbe5f15f5a1/cart/1.log", k8spath.Meta{
		Namespace: "shop", PodName: "cart-5f8d7b6c4-mz7lp", PodUID: "78160639-e975-41b8-86a6-4bbe5f15f5a1", ContainerName: "cart",
		ContainerID: "0f1f6eff0ab001dc2ea3ac93a7ea35999d57d19c0c293a1ba6db097ff558c780", RestartCount: 1}},
	ledgerLink: {"var/log/pods/payments_ledger-0_118ea7de-9d98-48d7-8941-a6592a356cd5/ledger-api/0.log", k8spath.Meta{
		Namespace: "payments", PodName: "ledger-0", PodUID: "118ea7de-9d98-48d7-8941-a6592a356cd5", ContainerName: "ledger-api",
		ContainerID: "44782d054b5edca02c755e2b22de0f970e9a861a677f577abbaeff6a3460b50c", RestartCount: 0}},
	// cri-dockerd: the pods file links on into docker's directory; the UID and
	// restart count come from that intermediate link.
	workerLink: {"var/lib/docker/containers/" + workerID + "/" + workerID + "-json.log", k8spath.Meta{
		Namespace: "billing", PodName: "invoice-worker-6c9f8d5b7-q4w2e", PodUID: "4d0ca135-354d-463e-86cd-f1f731ec62c1", ContainerName: "worker",
		ContainerID: workerID, RestartCount: 0}},
	dnsLink: {"var/log/pods/kube-system_coredns-76f75df574-8xk2p_16679315-9c3b-46c1-88d1-b384133b7bec/coredns/0.log", k8spath.Meta{
		Namespace: "kube-system", PodName: "coredns-76f75df574-8xk2p", PodUID: "16679315-9c3b-46c1-88d1-b384133b7bec", ContainerName: "coredns",
		ContainerID: "997570191e44cd37188b69ce7c63cc69558a671db5899b880d70b28ab9fa4872", RestartCount: 0}},
	etcdLink: {"var/log/pods/kube-system_etcd-node-1_b3437e43e894a39ed4f207158ab7109b/etcd/0.log", k8spath.Meta{
		Namespace: "kube-system", PodName: "etcd-node-1", PodUID: "b3437e43e894a39ed4f207158ab7109b", ContainerName: "etcd",
		ContainerID: "48d1993734ab0baedfa87b7f9fd2683d5aef928d649ddc9e9850043e8c301b0f", RestartCount: 0}},
}

// testNode is the committed node tree, read in place.
func testNode(t *testing.T) string {
	root, err := filepath.Abs("../../../../testdata/node")
	require.NoError(t, err)
	require.DirExists(t, root)
	return root
}

// copyNode copies the node tree into a temp dir, links as links, for tests
// that change it.
func copyNode(t *testing.T) string {
	src, dst := testNode(t), t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			dest, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(dest, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, 0o644)
		}
	})
	require.NoError(t, err)
	return dst
}

// nodeOptions is the default configuration rooted at a node tree.
func nodeOptions(root string) Options {
	return Options{
		Include:  []string{filepath.Join(root, "var/log/containers/*.log")},
		Exclude:  []string{filepath.Join(root, "var/log/containers/*_kube-system_*.log")},
		LogRoots: []string{filepath.Join(root, "var/log/pods"), filepath.Join(root, "var/lib/docker/containers")},
	}
}

func scan(t *testing.T, o Options) ([]Target, []error) {
	t.Helper()
	s, err := NewScanner(o)
	require.NoError(t, err)
	return s.Scan()
}

// wantTargets builds the expected targets for some links of a node tree.
func wantTargets(t *testing.T, root string, links ...string) []Target {
	real, err := filepath.EvalSymlinks(root)
	require.NoError(t, err)
	var out []Target
	for _, l := range links {
		e, ok := expected[l]
		require.True(t, ok, l)
		out = append(out, Target{Path: filepath.Join(root, "var/log/containers", l), Real: filepath.Join(real, e.real), Meta: e.meta})
	}
	return out
}

func TestScanNodeDefaults(t *testing.T) {
	root := testNode(t)
	got, errs := scan(t, nodeOptions(root))
	assert.Empty(t, errs)
	// Sorted by Path; kube-system excluded.
	assert.Equal(t, wantTargets(t, root, cart1Link, cart0Link, workerLink, ledgerLink, webLink), got)
	for _, tg := range got {
		want, err := filepath.EvalSymlinks(tg.Path)
		require.NoError(t, err)
		assert.Equal(t, want, tg.Real, "Real is what EvalSymlinks says")
	}
}

func TestScanNodeNoExclude(t *testing.T) {
	root := testNode(t)
	o := nodeOptions(root)
	o.Exclude = nil
	got, errs := scan(t, o)
	assert.Empty(t, errs)
	assert.Equal(t, wantTargets(t, root, cart1Link, cart0Link, dnsLink, etcdLink, workerLink, ledgerLink, webLink), got)
}

func TestScanNodePodsGlobSkipsRotated(t *testing.T) {
	root := testNode(t)
	real, err := filepath.EvalSymlinks(root)
	require.NoError(t, err)
	o := nodeOptions(root)
	o.Include = []string{filepath.Join(root, "var/log/pods/*/*/*")} // also matches 0.log.<time> and .gz
	o.Exclude = []string{filepath.Join(root, "var/log/pods/kube-system_*/*/*")}
	got, errs := scan(t, o)
	assert.Empty(t, errs)
	var paths []string
	for _, tg := range got {
		rel, _ := filepath.Rel(root, tg.Path)
		paths = append(paths, rel)
		assert.Empty(t, tg.Meta.ContainerID, "no container id without a link name: %s", rel)
		assert.NotEmpty(t, tg.Meta.PodUID, rel)
		assert.True(t, strings.HasPrefix(tg.Real, real+string(filepath.Separator)), tg.Real)
	}
	assert.Equal(t, []string{
		"var/log/pods/billing_invoice-worker-6c9f8d5b7-q4w2e_4d0ca135-354d-463e-86cd-f1f731ec62c1/worker/0.log",
		"var/log/pods/payments_ledger-0_118ea7de-9d98-48d7-8941-a6592a356cd5/ledger-api/0.log",
		"var/log/pods/shop_cart-5f8d7b6c4-mz7lp_78160639-e975-41b8-86a6-4bbe5f15f5a1/cart/0.log",
		"var/log/pods/shop_cart-5f8d7b6c4-mz7lp_78160639-e975-41b8-86a6-4bbe5f15f5a1/cart/1.log",
		"var/log/pods/shop_web-7d4b9c-x2x9q_ec552847-28ce-4509-8781-2cc561f8a02a/nginx/0.log",
	}, paths)
}

func TestScanDeduplicatesByReal(t *testing.T) {
	root := testNode(t)
	o := nodeOptions(root)
	o.Include = []string{
		filepath.Join(root, "var/log/pods/*/*/*.log"),
		filepath.Join(root, "var/log/containers/*.log"),
		filepath.Join(root, "var/log/containers/web-*.log"), // same path twice
	}
	o.Exclude = append(o.Exclude, filepath.Join(root, "var/log/pods/kube-system_*/*/*"))
	got, errs := scan(t, o)
	assert.Empty(t, errs)
	// containers/ sorts before pods/, so the link names (with container IDs) win.
	assert.Equal(t, wantTargets(t, root, cart1Link, cart0Link, workerLink, ledgerLink, webLink), got)
}

func TestScanRefusesLinkOutsideRoots(t *testing.T) {
	root := testNode(t)
	o := nodeOptions(root)
	o.LogRoots = o.LogRoots[:1] // var/log/pods only: the docker hop is outside
	got, errs := scan(t, o)
	assert.Equal(t, wantTargets(t, root, cart1Link, cart0Link, ledgerLink, webLink), got)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), filepath.Join(root, "var/log/containers", workerLink))
	assert.Contains(t, errs[0].Error(), "outside log_roots")
}

func TestScanSelfPod(t *testing.T) {
	root := testNode(t)
	o := nodeOptions(root)
	o.SelfNamespace, o.SelfPod = "shop", "cart-5f8d7b6c4-mz7lp"
	got, errs := scan(t, o)
	assert.Empty(t, errs)
	assert.Equal(t, wantTargets(t, root, workerLink, ledgerLink, webLink), got)

	// Both must be set.
	o.SelfNamespace = ""
	got, _ = scan(t, o)
	assert.Len(t, got, 5)
}

func TestScanDanglingLinkInNode(t *testing.T) {
	root := copyNode(t)
	e := expected[ledgerLink]
	require.NoError(t, os.Remove(filepath.Join(root, e.real)))
	got, errs := scan(t, nodeOptions(root))
	assert.Equal(t, wantTargets(t, root, cart1Link, cart0Link, workerLink, webLink), got)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), filepath.Join(root, "var/log/containers", ledgerLink))
	assert.Contains(t, errs[0].Error(), "dangling symlink")
	assert.ErrorIs(t, errs[0], ErrDangling)

	// The same problem is worded the same on the next scan, so it is logged once.
	_, again := scan(t, nodeOptions(root))
	require.Len(t, again, 1)
	assert.Equal(t, errs[0].Error(), again[0].Error())
}

// tree makes files and links under a temp dir: a value starting with "->" is a
// link target, anything else file content.
func tree(t *testing.T, entries map[string]string) string {
	dir := t.TempDir()
	for name, v := range entries {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if dest, ok := strings.CutPrefix(v, "->"); ok {
			require.NoError(t, os.Symlink(strings.ReplaceAll(dest, "$ROOT", dir), p))
		} else {
			require.NoError(t, os.WriteFile(p, []byte(v), 0o644))
		}
	}
	return dir
}

func TestScanSymlinks(t *testing.T) {
	dir := tree(t, map[string]string{
		"pods/a/0.log":        "a",
		"pods/b/0.log":        "b",
		"pods/c/0.log":        "c",
		"podsX/evil.log":      "x",
		"etc/secret":          "s",
		"other/hop.log":       "->../pods/c/0.log",
		"pods/link-inside":    "->b/0.log",
		"plain/outside.log":   "p",
		"c/1-relative.log":    "->../pods/a/0.log",
		"c/2-absolute.log":    "->$ROOT/pods/a/0.log", // same file as 1: deduplicated
		"c/3-chain.log":       "->../pods/link-inside",
		"c/4-outside.log":     "->../etc/secret",
		"c/5-prefix.log":      "->../podsX/evil.log",
		"c/6-via-outside.log": "->../other/hop.log",
		"c/7-dangling.log":    "->../pods/gone/0.log",
		"pods/loop1":          "->loop2",
		"pods/loop2":          "->loop1",
		"c/8-loop.log":        "->../pods/loop1",
		"c/9-dir.log":         "->../pods/a",
		"c/plain.log":         "plain files are always allowed",
		"c/up.log":            "->../plain/outside.log",
	})
	o := Options{Include: []string{filepath.Join(dir, "c/*.log")}, LogRoots: []string{filepath.Join(dir, "pods")}}
	got, errs := scan(t, o)
	real, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	var summary []string
	for _, tg := range got {
		rel, _ := filepath.Rel(real, tg.Real)
		summary = append(summary, filepath.Base(tg.Path)+" "+rel)
	}
	assert.Equal(t, []string{
		"1-relative.log pods/a/0.log",
		"3-chain.log pods/b/0.log",
		"plain.log c/plain.log",
	}, summary)

	why := map[string]string{}
	for _, err := range errs {
		msg := err.Error()
		name := filepath.Base(strings.SplitN(msg, ":", 2)[0])
		why[name] = msg
		assert.True(t, strings.HasPrefix(msg, filepath.Join(dir, "c", name)+": "), "error names the path: %s", msg)
	}
	assert.Contains(t, why["4-outside.log"], "outside log_roots")
	assert.Contains(t, why["5-prefix.log"], "outside log_roots")
	assert.Contains(t, why["6-via-outside.log"], "outside log_roots", "every hop must be inside a root")
	assert.Contains(t, why["7-dangling.log"], "dangling symlink")
	assert.Contains(t, why["8-loop.log"], "symlinks in a chain")
	assert.Contains(t, why["9-dir.log"], "not a regular file")
	assert.Contains(t, why["up.log"], "outside log_roots")
	assert.Len(t, errs, 7)
}

func TestScanRootThroughSymlink(t *testing.T) {
	dir := tree(t, map[string]string{
		"data/pods/a/0.log": "a",
		"log":               "->data", // the configured root goes through a link
		"c/x.log":           "->../data/pods/a/0.log",
		"c/y.log":           "->../log/pods/a/0.log",
	})
	o := Options{Include: []string{filepath.Join(dir, "c/*.log")}, LogRoots: []string{filepath.Join(dir, "log/pods")}}
	got, errs := scan(t, o)
	assert.Empty(t, errs)
	require.Len(t, got, 1, "both links lead to the same file")
	assert.Equal(t, filepath.Join(dir, "c/x.log"), got[0].Path)
}

func TestScanIgnoresRotatedNames(t *testing.T) {
	dir := tree(t, map[string]string{
		"pods/a/0.log":                    "a",
		"pods/a/0.log.20261124-101500":    "r",
		"pods/a/0.log.20261124-100000.gz": "z",
		"pods/a/0.log.tmp":                "t",
		"pods/a/x.gz":                     "z",
		"pods/a/x.tmp":                    "t",
		"pods/a/notes.txt":                "a plain file an operator glob names is fine",
		"c/my.log.app-1_ns_c-" + strings.Repeat("a", 64) + ".log": "->../pods/a/0.log.20261124-101500",
		"c/link.log": "->../pods/a/0.log",
	})
	o := Options{Include: []string{filepath.Join(dir, "pods/a/*"), filepath.Join(dir, "c/*")}, LogRoots: []string{filepath.Join(dir, "pods")}}
	got, errs := scan(t, o)
	assert.Empty(t, errs)
	var names []string
	for _, tg := range got {
		names = append(names, filepath.Base(tg.Path)+" -> "+filepath.Base(tg.Real))
	}
	// A link named *.log is considered, but one that resolves to a rotated
	// name is not a target either.
	assert.Equal(t, []string{"link.log -> 0.log", "notes.txt -> notes.txt"}, names)
}

func TestNewScannerValidates(t *testing.T) {
	for _, o := range []Options{
		{Include: []string{"/var/log/[.log"}},
		{Include: []string{""}},
		{Include: []string{"/x/*.log"}, Exclude: []string{"["}},
		{Include: []string{"/x/*.log"}, LogRoots: []string{"var/log/pods"}},
	} {
		_, err := NewScanner(o)
		assert.Error(t, err, "%+v", o)
	}
	s, err := NewScanner(Options{Include: []string{"/nonexistent-loggy/*.log"}, LogRoots: []string{"/nonexistent-loggy"}})
	require.NoError(t, err)
	got, errs := s.Scan()
	assert.Empty(t, got)
	assert.Empty(t, errs)
}

func BenchmarkScanNode(b *testing.B) {
	root, err := filepath.Abs("../../../../testdata/node")
	require.NoError(b, err)
	s, err := NewScanner(nodeOptions(root))
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if got, _ := s.Scan(); len(got) != 5 {
			b.Fatal(len(got))
		}
	}
}

// Directories resolved by one scan are reused by the next only while they are
// still plain directories: a pod directory swapped for a link leading outside
// the roots is refused at once.
func TestScanNoticesADirectorySwappedForALink(t *testing.T) {
	root := t.TempDir()
	pods, links, outside := filepath.Join(root, "pods"), filepath.Join(root, "containers"), filepath.Join(root, "etc")
	dir := filepath.Join(pods, "ns_pod_uid", "app")
	for _, d := range []string{dir, links, outside} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0.log"), []byte("x\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "0.log"), []byte("secret\n"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(dir, "0.log"), filepath.Join(links, "pod_ns_app-"+strings.Repeat("a", 64)+".log")))
	s, err := NewScanner(Options{Include: []string{filepath.Join(links, "*.log")}, LogRoots: []string{pods}})
	require.NoError(t, err)

	targets, errs := s.Scan()
	require.Empty(t, errs)
	require.Len(t, targets, 1)

	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.Symlink(outside, dir))
	targets, errs = s.Scan()
	assert.Empty(t, targets)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "outside log_roots")
}
