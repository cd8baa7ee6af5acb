package k8smeta

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pod(name, uid, node string, owner *metav1.OwnerReference, labels, annotations map[string]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(uid), Labels: labels, Annotations: annotations},
		Spec:       corev1.PodSpec{NodeName: node},
	}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func owner(kind, name string) *metav1.OwnerReference {
	return &metav1.OwnerReference{Kind: kind, Name: name}
}

func start(t *testing.T, client *fake.Clientset, cfg Config) *Cache {
	c := New(client, cfg, zap.NewNop())
	c.Start(context.Background(), 5*time.Second)
	t.Cleanup(c.Stop)
	return c
}

func lookupEventually(t *testing.T, c *Cache, uid string) Meta {
	t.Helper()
	var m Meta
	require.Eventually(t, func() bool {
		var ok bool
		m, ok = c.Lookup(uid)
		return ok
	}, 5*time.Second, 10*time.Millisecond, "pod %s never showed up", uid)
	return m
}

func TestOwnersLabelsAnnotations(t *testing.T) {
	client := fake.NewClientset(
		pod("web-7d4b9c-x2x9q", "u1", "node-1", owner("ReplicaSet", "web-7d4b9c"),
			map[string]string{"app": "web", "pod-template-hash": "7d4b9c"},
			map[string]string{"team": "shop", "secret-ish": "no"}),
		pod("db-0", "u2", "node-1", owner("StatefulSet", "db"), nil, nil),
		pod("agent-x", "u3", "node-1", owner("DaemonSet", "agent"), nil, nil),
		pod("report-29412345-abcde", "u4", "node-1", owner("Job", "report-29412345"), nil, nil),
		pod("quiet", "u5", "node-1", nil, nil, map[string]string{ExcludeAnnotation: "true"}),
	)
	c := start(t, client, Config{NodeName: "node-1", Annotations: []string{"team"}})

	web := lookupEventually(t, c, "u1")
	assert.Equal(t, "web-7d4b9c", web.ReplicaSet)
	assert.Equal(t, "web", web.Deployment)
	assert.Equal(t, map[string]string{"team": "shop"}, web.Annotations, "only the selected annotations")
	assert.Equal(t, "web", web.Labels["app"])
	assert.Equal(t, "node-1", web.NodeName)
	assert.Equal(t, "db", lookupEventually(t, c, "u2").StatefulSet)
	assert.Equal(t, "agent", lookupEventually(t, c, "u3").DaemonSet)
	job := lookupEventually(t, c, "u4")
	assert.Equal(t, "report-29412345", job.Job)
	assert.Equal(t, "report", job.CronJob)
	assert.True(t, lookupEventually(t, c, "u5").Exclude)

	m := pcommon.NewMap()
	PutResource(m, web)
	assert.Equal(t, map[string]any{
		"k8s.pod.label.app": "web", "k8s.pod.label.pod-template-hash": "7d4b9c", "k8s.pod.annotation.team": "shop",
		"k8s.node.name": "node-1", "k8s.replicaset.name": "web-7d4b9c", "k8s.deployment.name": "web",
	}, m.AsRaw())
}

// A deleted pod's metadata stays for deleted_ttl, for its last lines.
func TestDeletedPodsAreKeptForTheirLastLines(t *testing.T) {
	client := fake.NewClientset(pod("gone", "u1", "node-1", nil, map[string]string{"app": "gone"}, nil))
	c := start(t, client, Config{NodeName: "node-1", DeletedTTL: time.Minute})
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).UnixNano())
	c.now = func() time.Time { return time.Unix(0, now.Load()) }
	lookupEventually(t, c, "u1")

	require.NoError(t, client.CoreV1().Pods("shop").Delete(context.Background(), "gone", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		c.mu.RLock()
		defer c.mu.RUnlock()
		return !c.pods["u1"].deleted.IsZero()
	}, 5*time.Second, 10*time.Millisecond)
	now.Add(int64(59 * time.Second))
	m, ok := c.Lookup("u1")
	assert.True(t, ok, "still there within the TTL")
	assert.Equal(t, "gone", m.Labels["app"])
	now.Add(int64(2 * time.Second))
	_, ok = c.Lookup("u1")
	assert.False(t, ok, "evicted after the TTL")
}

// Only this node's pods are watched: the list and watch carry the field
// selector, and pods of other nodes are ignored anyway (the fake applies no
// selectors).
func TestOnlyThisNodesPods(t *testing.T) {
	client := fake.NewClientset(pod("here", "u1", "node-1", nil, nil, nil), pod("there", "u2", "node-2", nil, nil, nil))
	var listSel, watchSel atomic.Value
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		listSel.Store(a.(k8stesting.ListActionImpl).GetListRestrictions().Fields.String())
		return false, nil, nil
	})
	client.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		watchSel.Store(a.(k8stesting.WatchActionImpl).GetWatchRestrictions().Fields.String())
		return false, nil, nil
	})
	c := start(t, client, Config{NodeName: "node-1"})
	lookupEventually(t, c, "u1")
	_, ok := c.Lookup("u2")
	assert.False(t, ok)
	assert.Equal(t, "spec.nodeName=node-1", listSel.Load())
	require.Eventually(t, func() bool { return watchSel.Load() != nil }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, "spec.nodeName=node-1", watchSel.Load())
}

// An API that never answers does not hold the receiver up for more than the wait.
func TestStartReturnsWhenTheAPINeverSyncs(t *testing.T) {
	client := fake.NewClientset()
	block := make(chan struct{})
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-block
		return true, &corev1.PodList{}, nil
	})
	c := New(client, Config{NodeName: "node-1"}, zap.NewNop())
	begin := time.Now()
	c.Start(context.Background(), 200*time.Millisecond)
	assert.Less(t, time.Since(begin), 5*time.Second)
	close(block)
	c.Stop()
}
