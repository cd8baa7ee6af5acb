package loggyreceiver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Batches are bounded by records and by bytes, so a refusing consumer holds
// at most one bounded batch while reading pauses.
func TestBatchesAreBounded(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "big-pod", "app")
	const lines = 40
	big := strings.Repeat("y", 512<<10) // 40 x 512 KiB = 20 MiB
	for i := 0; i < lines; i++ {
		c.cri("stdout", "F", big)
	}
	small := n.container("shop", "small-pod", "app")
	for _, m := range seq("s", 0, 2500) {
		small.cri("stdout", "F", m)
	}
	cfg := n.config()
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)
	r.waitBodies("big-pod", lines)
	r.waitBodies("small-pod", 2500)
	for _, ld := range r.sink.AllLogs() {
		assert.LessOrEqual(t, ld.LogRecordCount(), cfg.MaxBatchSize)
		assert.LessOrEqual(t, bodyBytes(ld), 4<<20+512<<10, "4 MiB, and at most one record past it")
	}
}

func bodyBytes(ld plog.Logs) int {
	n := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				n += len(recs.At(k).Body().Str())
			}
		}
	}
	return n
}

// Shutdown returns within its deadline even while the next consumer blocks.
func TestShutdownWhileConsumerBlocks(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "block-pod", "app")
	c.cri("stdout", "F", "stuck")
	blocked := make(chan struct{})
	next := consumerFunc(func(ctx context.Context, _ plog.Logs) error {
		close(blocked)
		<-ctx.Done() // a consumer that honours cancellation, as the collector's do
		return ctx.Err()
	})
	r := startReceiver(t, n.config(), next, nil)
	<-blocked
	start := time.Now()
	r.stop()
	require.Less(t, time.Since(start), 5*time.Second)
}

// Bodies share arena chunks; earlier strings must never change as later ones
// are added, nor after the batch is handed on and a new one starts.
func TestArenaStringsStayIntact(t *testing.T) {
	b := &batch{}
	var want, got []string
	buf := []byte{}
	for i := 0; i < 5000; i++ {
		buf = append(buf[:0], strings.Repeat(string(rune('a'+i%26)), i%300)...)
		want = append(want, string(buf))
		got = append(got, b.str(buf))
		if len(buf) > 0 {
			buf[0] = '!' // the caller reuses its buffer
		}
		if i == 2500 {
			b.arena = nil // as reset does
		}
	}
	assert.Equal(t, want, got)
}
