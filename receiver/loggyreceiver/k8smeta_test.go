package loggyreceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8smeta"
)

// With k8s_metadata the records carry the pod's labels and workload from the
// API, and a pod annotated loggy.io/exclude is not collected.
func TestK8sMetadataEnrichesAndExcludes(t *testing.T) {
	n := newNode(t)
	web := n.container("shop", "web-7d4b9c-x2x9q", "nginx")
	quiet := n.container("shop", "quiet-0", "app")
	uidOf := func(c *container) string { // the uid in the pod directory's name
		parts := strings.Split(filepath.Base(filepath.Dir(c.dir)), "_")
		return parts[len(parts)-1]
	}
	client := fake.NewClientset(
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: web.pod, Namespace: "shop", UID: types.UID(uidOf(web)),
				Labels:          map[string]string{"app": "web", "pod-template-hash": "7d4b9c"},
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d4b9c"}}},
			Spec: corev1.PodSpec{NodeName: "node-1"},
		},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: quiet.pod, Namespace: "shop", UID: types.UID(uidOf(quiet)),
				Annotations: map[string]string{k8smeta.ExcludeAnnotation: "true"}},
			Spec: corev1.PodSpec{NodeName: "node-1"},
		},
	)
	orig := newK8sCache
	newK8sCache = func(cfg k8smeta.Config, logger *zap.Logger) (*k8smeta.Cache, error) {
		assert.Equal(t, "node-1", cfg.NodeName, "taken from K8S_NODE_NAME")
		return k8smeta.New(client, cfg, logger), nil
	}
	t.Cleanup(func() { newK8sCache = orig })
	t.Setenv("K8S_NODE_NAME", "node-1")

	web.cri("stdout", "F", "GET / 200")
	quiet.cri("stdout", "F", "do not collect me")
	cfg := n.config()
	cfg.K8sMetadata.Enabled = true
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)
	r.waitBodies(web.pod, 1)
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, bodies(flatten(r.sink.AllLogs()), quiet.pod))

	var found bool
	for _, ld := range r.sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			res := ld.ResourceLogs().At(i).Resource().Attributes().AsRaw()
			if res["k8s.pod.name"] == web.pod {
				found = true
				assert.Equal(t, "web", res["k8s.deployment.name"])
				assert.Equal(t, "web", res["k8s.pod.label.app"])
				assert.Equal(t, "node-1", res["k8s.node.name"])
			}
		}
	}
	require.True(t, found)
}
