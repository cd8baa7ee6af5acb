package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes one YAML document into a Kubernetes API type and rejects what the API
// server would silently drop: unknown fields, fields whose case is wrong (`readonly:` for
// `readOnly:`) and duplicate keys. sigs.k8s.io/yaml.UnmarshalStrict alone is not enough: it
// decodes through encoding/json, which matches field names case-insensitively.
func decodeStrict(doc []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	strictErrs, err := kjson.UnmarshalStrict(j, into)
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	return errors.Join(strictErrs...)
}

// splitDocuments splits a multi-document YAML stream (kustomize's output) into its documents,
// dropping empty ones.
func splitDocuments(stream []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// rendered is what one `kustomize build` produced, decoded into API types.
type rendered struct {
	dir             string
	objects         []string // "Kind namespace/name", for messages
	namespaces      map[string]*corev1.Namespace
	serviceAccounts map[string]*corev1.ServiceAccount // key namespace/name
	configMaps      map[string]*corev1.ConfigMap      // key namespace/name
	daemonSets      []*appsv1.DaemonSet
	priorityClasses map[string]*schedulingv1.PriorityClass
	clusterRoles    map[string]*rbacv1.ClusterRole
	roleBindings    map[string]*rbacv1.ClusterRoleBinding
}

// decodeAll strict-decodes every document of a kustomize build into its API type. A kind this
// test does not know is an error: a new kind needs its checks here.
func decodeAll(dir string, stream []byte) (*rendered, error) {
	docs, err := splitDocuments(stream)
	if err != nil {
		return nil, err
	}
	r := &rendered{
		dir:             dir,
		namespaces:      map[string]*corev1.Namespace{},
		serviceAccounts: map[string]*corev1.ServiceAccount{},
		configMaps:      map[string]*corev1.ConfigMap{},
		priorityClasses: map[string]*schedulingv1.PriorityClass{},
		clusterRoles:    map[string]*rbacv1.ClusterRole{},
		roleBindings:    map[string]*rbacv1.ClusterRoleBinding{},
	}
	var errs []error
	for i, doc := range docs {
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		var obj interface {
			GetName() string
			GetNamespace() string
		}
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			obj = &corev1.Namespace{}
		case "v1 ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "apps/v1 DaemonSet":
			obj = &appsv1.DaemonSet{}
		case "scheduling.k8s.io/v1 PriorityClass":
			obj = &schedulingv1.PriorityClass{}
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		default:
			errs = append(errs, fmt.Errorf("document %d: %s %s: no type known to this test (add it to decodeAll and give it checks)", i, tm.APIVersion, tm.Kind))
			continue
		}
		if err := decodeStrict(doc, obj); err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s %q): %w", i, tm.Kind, obj.GetName(), err))
			continue
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			r.namespaces[o.Name] = o
		case *corev1.ServiceAccount:
			r.serviceAccounts[o.Namespace+"/"+o.Name] = o
		case *corev1.ConfigMap:
			r.configMaps[o.Namespace+"/"+o.Name] = o
		case *appsv1.DaemonSet:
			r.daemonSets = append(r.daemonSets, o)
		case *schedulingv1.PriorityClass:
			r.priorityClasses[o.Name] = o
		case *rbacv1.ClusterRole:
			r.clusterRoles[o.Name] = o
		case *rbacv1.ClusterRoleBinding:
			r.roleBindings[o.Name] = o
		}
		r.objects = append(r.objects, fmt.Sprintf("%s %s/%s", tm.Kind, obj.GetNamespace(), obj.GetName()))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Strings(r.objects)
	return r, nil
}

// requiredTool returns the path in the environment variable env and fails the test, never
// skips it, when it is unset or not an executable file.
func requiredTool(t *testing.T, env, what string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: it must name %s. Run the tests with `make test-deploy` from the repository root, which builds/installs it and sets %s.", env, what, env)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("%s=%s: %v (%s). Run `make test-deploy` from the repository root.", env, p, err, what)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable file (%s)", env, p, what)
	}
	return p
}

// repoRoot is the repository root: this module lives in test/deploy.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "deploy", "base", "kustomization.yaml")); err != nil {
		t.Fatalf("repository root %s has no deploy/base/kustomization.yaml: %v", root, err)
	}
	return root
}

// kustomizeBuild runs `kustomize build dir` with the binary named by KUSTOMIZE_BIN.
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	bin := requiredTool(t, "KUSTOMIZE_BIN", "the kustomize binary (v5.8.2, installed into bin/tools by make)")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "build", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes()
}

// build renders and strict-decodes the kustomization in dir (relative to the repo root).
func build(t *testing.T, dir string) *rendered {
	t.Helper()
	abs := filepath.Join(repoRoot(t), dir)
	r, err := decodeAll(dir, kustomizeBuild(t, abs))
	if err != nil {
		t.Fatalf("kustomize build %s: strict decoding failed:\n%v", dir, err)
	}
	return r
}
