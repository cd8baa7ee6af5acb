package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// kustomizations are every kustomization the repository ships.
var kustomizations = []string{"deploy/base", "deploy/overlays/example"}

// exampleEndpoint is what the example overlay (and the README) set OTLP_ENDPOINT to.
const exampleEndpoint = "otel-gateway.observability.svc:4317"

// imageConfigPath reads the config path from the Dockerfile's ENTRYPOINT.
func imageConfigPath(t *testing.T) string {
	t.Helper()
	stages, err := parseDockerfile(filepath.Join(repoRoot(t), "distribution", "Dockerfile"))
	if err != nil {
		t.Fatalf("distribution/Dockerfile: %v", err)
	}
	cfg, p := checkDockerfile(stages)
	if cfg == "" {
		t.Fatalf("distribution/Dockerfile: no --config path in the ENTRYPOINT: %v", p)
	}
	return cfg
}

func agent(t *testing.T, r *rendered) *appsv1.DaemonSet {
	t.Helper()
	if len(r.daemonSets) != 1 {
		t.Fatalf("%s: want one DaemonSet, found %d (%v)", r.dir, len(r.daemonSets), r.objects)
	}
	return r.daemonSets[0]
}

func reportProblems(t *testing.T, what string, p problems) {
	t.Helper()
	for _, s := range p {
		t.Errorf("%s: %s", what, s)
	}
}

// TestManifests renders every kustomization, strict-decodes every object and checks the
// DaemonSet and the collector config it mounts.
func TestManifests(t *testing.T) {
	cfgPath := imageConfigPath(t)
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := build(t, dir)
			t.Logf("%s renders %v", dir, r.objects)

			if _, ok := r.namespaces[namespace]; !ok {
				t.Errorf("no Namespace %q", namespace)
			}
			for key := range r.serviceAccounts {
				if !strings.HasPrefix(key, namespace+"/") {
					t.Errorf("ServiceAccount %s is outside namespace %s", key, namespace)
				}
			}
			for key := range r.configMaps {
				if !strings.HasPrefix(key, namespace+"/") {
					t.Errorf("ConfigMap %s is outside namespace %s", key, namespace)
				}
			}
			for _, sa := range r.serviceAccounts {
				if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
					t.Errorf("ServiceAccount %s: automountServiceAccountToken should be false", sa.Name)
				}
			}
			ds := agent(t, r)
			reportProblems(t, "DaemonSet "+ds.Name, checkDaemonSet(ds, r))
			cfg, p := checkConfigMount(ds, r, cfgPath)
			reportProblems(t, "DaemonSet "+ds.Name, p)
			if cfg != "" {
				reportProblems(t, "collector config", checkCollectorConfig(cfg, ds))
			}
		})
	}
}

// TestExampleOverlaySetsEndpoint: the overlay changes exactly what it says it changes.
func TestExampleOverlaySetsEndpoint(t *testing.T) {
	base, overlay := build(t, "deploy/base"), build(t, "deploy/overlays/example")
	endpoint := func(r *rendered) string {
		ds := agent(t, r)
		c, _ := agentContainer(ds)
		for _, e := range c.Env {
			if e.Name == "OTLP_ENDPOINT" {
				return resolveEnv(t, r, ds.Namespace, c, e)
			}
		}
		t.Fatalf("%s: no OTLP_ENDPOINT", r.dir)
		return ""
	}
	if got := endpoint(overlay); got != exampleEndpoint {
		t.Errorf("example overlay: OTLP_ENDPOINT = %q, want %q", got, exampleEndpoint)
	}
	if got := endpoint(base); !strings.HasSuffix(strings.Split(got, ":")[0], ".invalid") {
		t.Errorf("base: OTLP_ENDPOINT = %q; the base should carry an obvious placeholder (*.invalid)", got)
	}
	if len(base.objects) != len(overlay.objects) {
		t.Errorf("the overlay should render the same objects as the base:\nbase    %v\noverlay %v", base.objects, overlay.objects)
	}
}

// resolveEnv gives the value an environment variable would have in the pod. Downward API
// fields get stand-in values.
func resolveEnv(t *testing.T, r *rendered, ns string, c *corev1.Container, e corev1.EnvVar) string {
	t.Helper()
	if e.ValueFrom == nil {
		return e.Value
	}
	switch vf := e.ValueFrom; {
	case vf.FieldRef != nil:
		return map[string]string{
			"spec.nodeName":      "node-1",
			"metadata.name":      "loggy-x7k2p",
			"metadata.namespace": ns,
			"status.podIP":       "10.0.0.7",
			"status.hostIP":      "10.0.0.1",
		}[vf.FieldRef.FieldPath]
	case vf.ConfigMapKeyRef != nil:
		cm, ok := r.configMaps[ns+"/"+vf.ConfigMapKeyRef.Name]
		if !ok {
			t.Fatalf("env %s: no ConfigMap %s", e.Name, vf.ConfigMapKeyRef.Name)
		}
		return cm.Data[vf.ConfigMapKeyRef.Key]
	case vf.ResourceFieldRef != nil:
		q := c.Resources.Limits[corev1.ResourceMemory]
		return fmt.Sprint(q.Value())
	}
	t.Fatalf("env %s: unsupported valueFrom", e.Name)
	return ""
}

// TestCollectorValidates runs `otelcol-loggy --config <the ConfigMap's config.yaml> validate`
// with the environment the DaemonSet gives the container.
func TestCollectorValidates(t *testing.T) {
	bin := requiredTool(t, "LOGGY_BIN", "the collector binary bin/otelcol-loggy (make build)")
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := build(t, dir)
			ds := agent(t, r)
			c, _ := agentContainer(ds)
			cfg, p := checkConfigMount(ds, r, imageConfigPath(t))
			if len(p) > 0 || cfg == "" {
				t.Fatalf("cannot find the mounted collector config: %v", p)
			}
			tmp := t.TempDir()
			file := filepath.Join(tmp, "config.yaml")
			if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
				name, _, _ := strings.Cut(kv, "=")
				return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
			})
			for _, e := range c.Env {
				env = append(env, e.Name+"="+resolveEnv(t, r, ds.Namespace, c, e))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--config", file, "validate")
			cmd.Env, cmd.Dir = env, tmp
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s --config <%s ConfigMap config.yaml> validate: %v\n%s", bin, dir, err, out.String())
			}

			// The same without the endpoint must fail: validate really checks this config.
			ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel2()
			neg := exec.CommandContext(ctx2, bin, "--config", file, "validate")
			neg.Env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "OTLP_ENDPOINT=") })
			neg.Dir = tmp
			if b, err := neg.CombinedOutput(); err == nil || !strings.Contains(string(b), "endpoint") {
				t.Errorf("validate without OTLP_ENDPOINT: err = %v, output %q; want a failure naming the endpoint", err, b)
			}
		})
	}
}

// TestConfigCopyMatchesDistribution: deploy/base/config.yaml is a copy of the single source,
// distribution/config.yaml (kustomize cannot read files outside the base directory).
func TestConfigCopyMatchesDistribution(t *testing.T) {
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "distribution", "config.yaml"))
	if err != nil {
		t.Fatalf("distribution/config.yaml, the production collector config and the source of deploy/base/config.yaml: %v", err)
	}
	cp, err := os.ReadFile(filepath.Join(root, "deploy", "base", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, cp) {
		t.Fatalf("deploy/base/config.yaml differs from distribution/config.yaml: run `make deploy-config` (it copies the latter over the former)")
	}
}

// TestDockerfile checks the image recipe (no Docker engine is needed to read it).
func TestDockerfile(t *testing.T) {
	stages, err := parseDockerfile(filepath.Join(repoRoot(t), "distribution", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, p := checkDockerfile(stages)
	reportProblems(t, "distribution/Dockerfile", p)
	if cfg != "/etc/loggy/config.yaml" {
		t.Errorf("ENTRYPOINT reads %q, want /etc/loggy/config.yaml", cfg)
	}
}

// TestDeployDocs: the README's "Deploy" section names what the manifests really contain.
func TestDeployDocs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, doc, ok := strings.Cut(string(b), "\n## Deploy\n")
	if !ok {
		t.Fatal("README.md has no section \"## Deploy\"")
	}
	if i := strings.Index(doc, "\n## "); i >= 0 {
		doc = doc[:i]
	}
	where := "README.md, section Deploy"
	r := build(t, "deploy/overlays/example")
	ds := agent(t, r)
	for _, want := range []string{
		"make image",
		"docker push",
		"deploy/overlays/example/kustomization.yaml",
		exampleEndpoint,
		"kubectl apply -k deploy/overlays/example",
		fmt.Sprintf("kubectl -n %s logs ds/%s", ds.Namespace, ds.Name),
		fmt.Sprintf("kubectl -n %s rollout status ds/%s", ds.Namespace, ds.Name),
		"k8s.node.name",
		"DAC_READ_SEARCH",
		"readOnlyRootFilesystem",
		"GOMEMLIMIT",
		"OTLP_INSECURE",
		ds.Spec.Template.Spec.PriorityClassName,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("%s does not mention %q", where, want)
		}
	}
}
