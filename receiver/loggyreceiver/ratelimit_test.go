package loggyreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

func TestBucket(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	b := newBucket(10, now)
	passed := 0
	for i := 0; i < 100; i++ {
		if b.allow(now) {
			passed++
		}
	}
	assert.Equal(t, 10, passed, "a burst of one second's worth")
	assert.Equal(t, int64(90), b.shed)
	now = now.Add(500 * time.Millisecond)
	passed = 0
	for i := 0; i < 100; i++ {
		if b.allow(now) {
			passed++
		}
	}
	assert.Equal(t, 5, passed, "refilled at the rate")
	now = now.Add(time.Hour)
	passed = 0
	for i := 0; i < 100; i++ {
		if b.allow(now) {
			passed++
		}
	}
	assert.Equal(t, 10, passed, "never more than one second's worth saved up")
}

// A flooding container is cut to its rate and the rest is counted; a quiet
// container next to it loses nothing.
func TestRateLimitPerContainer(t *testing.T) {
	n := newNode(t)
	noisy := n.container("shop", "noisy-pod", "app")
	quiet := n.container("shop", "quiet-pod", "app")
	for _, m := range seq("n", 0, 5000) {
		noisy.cri("stdout", "F", m)
	}
	for _, m := range seq("q", 0, 20) {
		quiet.cri("stdout", "F", m)
	}
	cfg := n.config()
	cfg.RateLimitPerContainer = 100
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)
	assert.Equal(t, seq("q", 0, 20), r.waitBodies("quiet-pod", 20))
	got := r.waitBodies("noisy-pod", 100)
	assert.Less(t, len(got), 300, "about one second's worth passed")
	assert.Equal(t, seq("n", 0, 100), got[:100], "the first lines pass, in order")
	assert.Equal(t, int64(5000), int64(len(bodies(flatten(r.sink.AllLogs()), "noisy-pod")))+r.counter("loggy_records_shed"),
		"every line is either delivered or counted as shed")
}

// Reading is round-robin with a budget per file, so a quiet container's line
// goes out long before a flooding container's backlog is through.
func TestQuietContainerIsNotStarvedByAFloodingOne(t *testing.T) {
	n := newNode(t)
	noisy := n.container("shop", "flood-pod", "app")
	const backlog = 100000
	for _, m := range seq("n", 0, backlog) {
		noisy.cri("stdout", "F", m)
	}
	quiet := n.container("shop", "calm-pod", "app")
	quiet.cri("stdout", "F", "hello")
	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	r.waitBodies("flood-pod", backlog)

	noisyBefore := 0
	for _, g := range flatten(r.sink.AllLogs()) {
		if g.pod == "calm-pod" {
			break
		}
		noisyBefore++
	}
	assert.Less(t, noisyBefore, backlog/10, "the quiet line waited for %d of %d flooding lines", noisyBefore, backlog)
}

// A quiet container that writes while a flood is being read is noticed between
// reading rounds, not only after the flood.
func TestQuietLineWrittenDuringAFloodGoesOutEarly(t *testing.T) {
	n := newNode(t)
	noisy := n.container("shop", "flood2-pod", "app")
	const backlog = 300000
	for _, m := range seq("n", 0, backlog) {
		noisy.cri("stdout", "F", m)
	}
	quiet := n.container("shop", "calm2-pod", "app")
	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	require.Eventually(t, func() bool { return r.sink.LogRecordCount() > 0 }, 10*time.Second, time.Millisecond)
	quiet.cri("stdout", "F", "hello")
	r.waitBodies("flood2-pod", backlog)
	r.waitBodies("calm2-pod", 1)

	noisyBefore := 0
	for _, g := range flatten(r.sink.AllLogs()) {
		if g.pod == "calm2-pod" {
			break
		}
		noisyBefore++
	}
	assert.Less(t, noisyBefore, backlog*3/4, "the quiet line waited for %d of %d flooding lines", noisyBefore, backlog)
}
