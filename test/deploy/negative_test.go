package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const goodMount = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: x
      securityContext:
        readOnlyRootFilesystem: true
      volumeMounts:
        - name: logs
          mountPath: /var/log/pods
          readOnly: true
`

// TestStrictDecoderRejectsTypos: the decoder rejects what the API server would silently drop.
func TestStrictDecoderRejectsTypos(t *testing.T) {
	var pod corev1.Pod
	if err := decodeStrict([]byte(goodMount), &pod); err != nil {
		t.Fatalf("the correct manifest was rejected: %v", err)
	}
	for _, tc := range []struct{ name, from, to, wantErr string }{
		{"case typo readonly", "readOnly: true", "readonly: true", `unknown field "spec.containers[0].volumeMounts[0].readonly"`},
		{"case typo readOnlyRootFileSystem", "readOnlyRootFilesystem", "readOnlyRootFileSystem", `unknown field "spec.containers[0].securityContext.readOnlyRootFileSystem"`},
		{"case typo mountpath", "mountPath:", "mountpath:", `unknown field "spec.containers[0].volumeMounts[0].mountpath"`},
		{"unknown field", "image: x", "image: x\n      imagePolicy: Always", `unknown field "spec.containers[0].imagePolicy"`},
		{"duplicate key", "image: x", "image: x\n      image: y", `key "image" already set in map`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(goodMount, tc.from, tc.to, 1)
			var pod corev1.Pod
			err := decodeStrict([]byte(doc), &pod)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("decodeStrict = %v, want an error containing %s", err, tc.wantErr)
			}
		})
	}
	// Why two steps: sigs.k8s.io/yaml.UnmarshalStrict matches names case-insensitively and so
	// takes `readonly: true` for readOnly without a word.
	var lenient corev1.Pod
	doc := strings.Replace(goodMount, "readOnly: true", "readonly: true", 1)
	if err := yaml.UnmarshalStrict([]byte(doc), &lenient); err != nil {
		t.Logf("note: yaml.UnmarshalStrict now rejects the case typo too: %v", err)
	}
}

// TestKustomizeBuildWithTypoIsRejected runs the whole path (kustomize build, split, strict
// decode) on a copy of the base whose DaemonSet has a case typo.
func TestKustomizeBuildWithTypoIsRejected(t *testing.T) {
	base := filepath.Join(repoRoot(t), "deploy", "base")
	tmp := t.TempDir()
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(base, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "daemonset.yaml" {
			if !strings.Contains(string(b), "readOnly: true") {
				t.Fatal("daemonset.yaml has no readOnly: true to break")
			}
			b = []byte(strings.Replace(string(b), "readOnly: true", "readonly: true", 1))
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = decodeAll(tmp, kustomizeBuild(t, tmp))
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.template.spec.containers[0].volumeMounts[0].readonly"`) {
		t.Fatalf("decodeAll accepted a DaemonSet with `readonly:`; err = %v", err)
	}
}

// TestChecksCatchBrokenDaemonSet: each check fires on the fault it is there for, so a passing
// TestManifests means something.
func TestChecksCatchBrokenDaemonSet(t *testing.T) {
	r := build(t, "deploy/base")
	good := agent(t, r)
	if p := checkDaemonSet(good, r); len(p) > 0 {
		t.Fatalf("the base DaemonSet does not pass: %v", p)
	}
	mount := func(ds *appsv1.DaemonSet, path string) *corev1.VolumeMount {
		for i, m := range ds.Spec.Template.Spec.Containers[0].VolumeMounts {
			if m.MountPath == path {
				return &ds.Spec.Template.Spec.Containers[0].VolumeMounts[i]
			}
		}
		t.Fatalf("no mount at %s", path)
		return nil
	}
	for _, tc := range []struct {
		name   string
		break_ func(ds *appsv1.DaemonSet, c *corev1.Container)
		want   string
	}{
		{"selector does not match", func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			ds.Spec.Template.Labels["app.kubernetes.io/name"] = "other"
		}, "does not match the pod template labels"},
		{"mount without volume", func(ds *appsv1.DaemonSet, c *corev1.Container) {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "nope", MountPath: "/nope"})
		}, `volumeMount "nope" (/nope) has no volume`},
		{"log dir writable", func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			mount(ds, "/var/log/pods").ReadOnly = false
		}, "/var/log/pods is mounted read-write"},
		{"log dir elsewhere", func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			mount(ds, "/var/log/containers").MountPath = "/host/var/log/containers"
		}, "must be mounted at the same path"},
		{"extra hostPath", func(ds *appsv1.DaemonSet, c *corev1.Container) {
			ds.Spec.Template.Spec.Volumes = append(ds.Spec.Template.Spec.Volumes, corev1.Volume{Name: "etc",
				VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}})
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "etc", MountPath: "/host/etc", ReadOnly: true})
		}, "hostPath /etc, which is not one of the agent's directories"},
		{"writable root fs", func(_ *appsv1.DaemonSet, c *corev1.Container) {
			f := false
			c.SecurityContext.ReadOnlyRootFilesystem = &f
		}, "readOnlyRootFilesystem must be true"},
		{"capabilities kept", func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.SecurityContext.Capabilities.Drop = nil
		}, "capabilities.drop must contain ALL"},
		{"capability added", func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
		}, "capability SYS_ADMIN is added"},
		{"no seccomp", func(ds *appsv1.DaemonSet, c *corev1.Container) {
			ds.Spec.Template.Spec.SecurityContext.SeccompProfile = nil
			c.SecurityContext.SeccompProfile = nil
		}, "seccompProfile must be RuntimeDefault"},
		{"node name missing", func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.Env = c.Env[1:]
		}, "env K8S_NODE_NAME must come from the downward API"},
		{"probe on the wrong port", func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.LivenessProbe.HTTPGet.Port = intstr.FromInt32(8080)
		}, "livenessProbe targets port 8080"},
		{"GOMEMLIMIT at the hard limit", func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("205Mi")
		}, "GOMEMLIMIT 205MiB is 100% of limits.memory"},
		{"no toleration", func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			ds.Spec.Template.Spec.Tolerations = nil
		}, "no toleration {operator: Exists}"},
		{"maxUnavailable zero", func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			z := intstr.FromInt32(0)
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &z
		}, "maxUnavailable 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := good.DeepCopy()
			tc.break_(ds, &ds.Spec.Template.Spec.Containers[0])
			p := checkDaemonSet(ds, r)
			if !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Fatalf("want a problem containing %q, got %q", tc.want, p)
			}
		})
	}
}

// TestCollectorConfigChecksCatchMistakes: the config checks fire on the usual mistakes.
func TestCollectorConfigChecksCatchMistakes(t *testing.T) {
	ds := agent(t, build(t, "deploy/base"))
	const good = `
extensions:
  health_check: {endpoint: "0.0.0.0:13133"}
  file_storage: {directory: /var/lib/loggy, create_directory: true}
receivers:
  loggy: {include: [/var/log/containers/*.log], storage: file_storage}
processors:
  memory_limiter: {check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 20}
  batch: {}
exporters:
  otlp_grpc: {endpoint: "${env:OTLP_ENDPOINT}"}
service:
  extensions: [health_check, file_storage]
  pipelines:
    logs: {receivers: [loggy], processors: [memory_limiter, batch], exporters: [otlp_grpc]}
`
	if p := checkCollectorConfig(good, ds); len(p) > 0 {
		t.Fatalf("the good config does not pass: %v", p)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"health on loopback", `"0.0.0.0:13133"`, `"localhost:13133"`, "listens on loopback"},
		{"health on another port", `"0.0.0.0:13133"`, `"0.0.0.0:8080"`, "port must be 13133"},
		{"checkpoints on the read-only root", "directory: /var/lib/loggy", "directory: /var/lib/otelcol", "is not on a writable volume"},
		{"reads an unmounted dir", "/var/log/containers/*.log", "/var/log/journal/*.log", `"/var/log/journal/*.log" is not inside a mounted directory`},
		{"env the pod lacks", "${env:OTLP_ENDPOINT}", "${env:OTLP_HOST}", "${env:OTLP_HOST}, which the DaemonSet does not set"},
		{"memory_limiter not first", "[memory_limiter, batch]", "[batch, memory_limiter]", "must start with memory_limiter"},
		{"memory_limiter too big", "limit_percentage: 80", "limit_percentage: 100", "leaves no headroom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := strings.Replace(good, tc.from, tc.to, 1)
			p := checkCollectorConfig(cfg, ds)
			if !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Fatalf("want a problem containing %q, got %q", tc.want, p)
			}
		})
	}
}

// TestDockerfileChecksCatchMistakes: the Dockerfile checks fire on the usual mistakes.
func TestDockerfileChecksCatchMistakes(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "distribution", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	finalFrom := ""
	for line := range strings.Lines(string(src)) {
		if strings.HasPrefix(line, "FROM ") {
			finalFrom = strings.TrimSpace(line)
		}
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"root user", "USER 65532:65532", "USER 0", "want a non-root user"},
		{"shell form", `ENTRYPOINT ["/otelcol-loggy", "--config", "/etc/loggy/config.yaml"]`, `ENTRYPOINT /otelcol-loggy --config /etc/loggy/config.yaml`, "exec (JSON) form"},
		{"debian final", finalFrom, "FROM debian:12", "want distroless static or scratch"},
		{"cgo on", "ENV CGO_ENABLED=0", "ENV CGO_ENABLED=1", "CGO_ENABLED=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(src), tc.from) {
				t.Fatalf("the Dockerfile has no %q to change", tc.from)
			}
			file := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(file, []byte(strings.Replace(string(src), tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			stages, err := parseDockerfile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, p := checkDockerfile(stages)
			if !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Fatalf("want a problem containing %q, got %q", tc.want, p)
			}
		})
	}
}
