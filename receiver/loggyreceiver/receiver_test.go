package loggyreceiver

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestRecordsCarryK8sAttributes(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "web-7d4b9c-x2x9q", "nginx")
	c.cri("stdout", "F", "GET / 200")
	c.cri("stderr", "F", "upstream timed out")
	c.cri("stdout", "P", "first half, ")
	c.cri("stdout", "F", "second half")
	d := n.container("shop", "api-5f6d-abcde", "app")
	d.docker("stdout", "hello \"world\" ü\n")
	d.docker("stderr", "split ")
	d.docker("stderr", "entry\n")

	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	r.waitBodies("web-7d4b9c-x2x9q", 3)
	r.waitBodies("api-5f6d-abcde", 2)

	recs := flatten(r.sink.AllLogs())
	require.Len(t, recs, 5)
	byBody := map[string]got{}
	for _, g := range recs {
		byBody[g.body] = g
	}
	web := byBody["GET / 200"]
	assert.Equal(t, "shop", web.ns)
	assert.Equal(t, "nginx", web.container)
	assert.Equal(t, int64(0), web.restart)
	assert.Equal(t, "stdout", web.stream)
	assert.Equal(t, plog.SeverityNumberInfo, web.severity)
	assert.Equal(t, time.Date(2026, 11, 24, 10, 0, 0, int(time.Millisecond), time.UTC), web.time.UTC())
	assert.Equal(t, "stderr", byBody["upstream timed out"].stream)
	assert.Equal(t, plog.SeverityNumberError, byBody["upstream timed out"].severity)
	assert.Contains(t, byBody, "first half, second half")
	assert.Contains(t, byBody, `hello "world" ü`)
	assert.Equal(t, "stderr", byBody["split entry"].stream)

	// Resource attributes come from the paths.
	res := r.sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()
	for _, k := range []string{"k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.container.name", "k8s.container.restart_count", "container.id"} {
		assert.Contains(t, res, k)
	}
	assert.Equal(t, int64(7), r.counter("loggy_lines_read"), "7 physical lines make 5 records")
}

func TestStartAtEndSkipsOldLinesButReadsNewFiles(t *testing.T) {
	n := newNode(t)
	old := n.container("shop", "old-pod", "app")
	old.cri("stdout", "F", "before start")
	cfg := n.config()
	cfg.StartAt = startAtEnd
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)

	// Wait until the old file is tracked before writing to it.
	require.Eventually(t, func() bool { return r.counter("loggy_files_tracked") == 1 }, 10*time.Second, 10*time.Millisecond)
	old.cri("stdout", "F", "after start")
	late := n.container("shop", "late-pod", "app")
	for _, m := range seq("late", 0, 3) {
		late.cri("stdout", "F", m)
	}
	assert.Equal(t, []string{"after start"}, r.waitBodies("old-pod", 1))
	assert.Equal(t, seq("late", 0, 3), r.waitBodies("late-pod", 3), "files created after start are read from their beginning")
}

func TestRotationWhileWriting(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "busy-pod", "app")
	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)

	const total, every = 20000, 1500
	want := seq("line", 0, total)
	for i, m := range want {
		c.cri("stdout", "F", m)
		if i%every == every-1 {
			c.rotate()
		}
		if i%200 == 0 {
			time.Sleep(time.Millisecond) // let the reader interleave with the writer
		}
	}
	got := r.waitBodies("busy-pod", total)
	time.Sleep(200 * time.Millisecond) // a duplicate would show up by now
	got = bodies(flatten(r.sink.AllLogs()), "busy-pod")
	require.Equal(t, want, got, "every line once, in order")
	assert.GreaterOrEqual(t, r.counter("loggy_rotations"), int64(total/every))
	// Rotated files are let go once drained.
	require.Eventually(t, func() bool { return r.counter("loggy_files_tracked") == 1 }, 10*time.Second, 10*time.Millisecond)
}

func TestCopyTruncate(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "trunc-pod", "app")
	for _, m := range seq("before", 0, 100) {
		c.cri("stdout", "F", m)
	}
	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	r.waitBodies("trunc-pod", 100)
	c.copytruncate()
	for _, m := range seq("after", 0, 20) {
		c.cri("stdout", "F", m)
	}
	got := r.waitBodies("trunc-pod", 120)
	assert.Equal(t, append(seq("before", 0, 100), seq("after", 0, 20)...), got)
}

func TestDeletedFileIsDrainedAndClosed(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "gone-pod", "app")
	other := n.container("shop", "stays-pod", "app")
	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	require.Eventually(t, func() bool { return r.counter("loggy_files_tracked") == 2 }, 10*time.Second, 10*time.Millisecond)
	for _, m := range seq("bye", 0, 50) {
		c.cri("stdout", "F", m)
	}
	require.NoError(t, os.Remove(c.link))
	require.NoError(t, os.RemoveAll(c.dir)) // the pod's directory goes away
	assert.Equal(t, seq("bye", 0, 50), r.waitBodies("gone-pod", 50))
	require.Eventually(t, func() bool { return r.counter("loggy_files_tracked") == 1 }, 10*time.Second, 10*time.Millisecond)
	other.cri("stdout", "F", "still here")
	assert.Equal(t, []string{"still here"}, r.waitBodies("stays-pod", 1))
}

func TestExcludedNamespaceAndOwnPod(t *testing.T) {
	n := newNode(t)
	sys := n.container("kube-system", "coredns-abc", "coredns")
	self := n.container("loggy", "loggy-agent-xyz", "otelcol")
	app := n.container("shop", "app-pod", "app")
	t.Setenv("K8S_POD_NAME", "loggy-agent-xyz")
	t.Setenv("K8S_POD_NAMESPACE", "loggy")
	for _, c := range []*container{sys, self, app} {
		c.cri("stdout", "F", "from "+c.pod)
	}
	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	r.waitBodies("app-pod", 1)
	time.Sleep(300 * time.Millisecond) // several poll intervals
	for _, g := range flatten(r.sink.AllLogs()) {
		assert.Equal(t, "app-pod", g.pod)
	}
}

func TestMalformedAndOversizedLinesAreDeliveredAndCounted(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "junk-pod", "app")
	c.mu.Lock()
	_, err := c.f.WriteString("this is not a CRI line\n" + `{"log":"broken json` + "\n" + "2026-11-24T10:00:00Z stdout F bad \xff utf8\n")
	c.mu.Unlock()
	require.NoError(t, err)
	c.cri("stdout", "F", strings.Repeat("x", 3000))
	cfg := n.config()
	cfg.MaxLogSize = 1000
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)
	r.waitBodies("junk-pod", 4)
	recs := flatten(r.sink.AllLogs())
	require.Len(t, recs, 4)
	assert.Equal(t, "this is not a CRI line", recs[0].body)
	assert.Contains(t, recs[0].attrs, "log.parse_error")
	assert.Equal(t, `{"log":"broken json`, recs[1].body)
	assert.Contains(t, recs[1].attrs, "log.parse_error")
	assert.Equal(t, "bad \uFFFD utf8", recs[2].body)
	assert.Equal(t, true, recs[2].attrs["log.invalid_utf8"])
	assert.Equal(t, strings.Repeat("x", 1000), recs[3].body)
	assert.Equal(t, true, recs[3].attrs["log.truncated"])
	assert.Equal(t, int64(2), r.counter("loggy_parse_errors"))
	assert.Equal(t, int64(1), r.counter("loggy_invalid_utf8"))
	assert.Equal(t, int64(1), r.counter("loggy_lines_truncated"))
}

func TestRetryableRefusalKeepsDataAndPausesReading(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "retry-pod", "app")
	for _, m := range seq("m", 0, 10) {
		c.cri("stdout", "F", m)
	}
	sink := new(consumertest.LogsSink)
	var refusals atomic.Int32
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if refusals.Add(1) <= 3 {
			return errors.New("memory limiter: data refused")
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	r := startReceiver(t, n.config(), next, nil)
	r.sink = sink
	assert.Equal(t, seq("m", 0, 10), r.waitBodies("retry-pod", 10))
	assert.GreaterOrEqual(t, refusals.Load(), int32(4))
}

func TestPermanentRefusalIsDroppedAndReadingGoesOn(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "perm-pod", "app")
	c.cri("stdout", "F", "poison")
	sink := new(consumertest.LogsSink)
	var calls atomic.Int32
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if calls.Add(1) == 1 {
			return consumererror.NewPermanent(errors.New("bad data"))
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	r := startReceiver(t, n.config(), next, nil)
	r.sink = sink
	require.Eventually(t, func() bool { return calls.Load() >= 1 }, 10*time.Second, 10*time.Millisecond)
	c.cri("stdout", "F", "next")
	assert.Equal(t, []string{"next"}, r.waitBodies("perm-pod", 1))
}
