package loggyreceiver

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// With parse_body: auto, JSON objects and logfmt become map bodies with their
// level, time and trace context; anything else stays text.
func TestParseBodyAuto(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "json-pod", "app")
	c.cri("stdout", "F", `{"level":"error","msg":"payment failed","time":"2026-11-24T09:00:00.5Z","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","amount":12}`)
	c.cri("stderr", "F", `level=debug msg="cache warm" keys=120`)
	c.cri("stdout", "F", `{"msg":"cut off`)
	c.cri("stdout", "F", `plain text with a=b inside`)
	cfg := n.config()
	cfg.ParseBody = "auto"
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)
	require.Eventually(t, func() bool { return r.sink.LogRecordCount() == 4 }, 10*time.Second, 10*time.Millisecond)

	var recs []plog.LogRecord
	for _, ld := range r.sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			lrs := ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				recs = append(recs, lrs.At(j))
			}
		}
	}
	require.Len(t, recs, 4)

	js := recs[0]
	require.Equal(t, pcommon.ValueTypeMap, js.Body().Type())
	assert.Equal(t, map[string]any{"level": "error", "msg": "payment failed", "time": "2026-11-24T09:00:00.5Z",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "amount": int64(12)}, js.Body().Map().AsRaw())
	assert.Equal(t, plog.SeverityNumberError, js.SeverityNumber(), "the body's level wins over stdout's INFO")
	assert.Equal(t, time.Date(2026, 11, 24, 9, 0, 0, 5e8, time.UTC), js.Timestamp().AsTime().UTC())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", js.TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", js.SpanID().String())

	lf := recs[1]
	require.Equal(t, pcommon.ValueTypeMap, lf.Body().Type())
	assert.Equal(t, map[string]any{"level": "debug", "msg": "cache warm", "keys": "120"}, lf.Body().Map().AsRaw())
	assert.Equal(t, plog.SeverityNumberDebug, lf.SeverityNumber())

	assert.Equal(t, `{"msg":"cut off`, recs[2].Body().Str(), "invalid JSON stays text")
	assert.Equal(t, `plain text with a=b inside`, recs[3].Body().Str())
}

// With multiline: auto a stack trace becomes one record; the last one is
// released by the timeout, and plain lines are not held.
func TestMultilineAuto(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "java-pod", "app")
	c.cri("stdout", "F", "GET / 200")
	trace := []string{
		"2026-11-24 10:15:00 ERROR [main] OrderService - payment failed",
		"java.lang.IllegalStateException: card declined",
		"\tat com.shop.Payment.charge(Payment.java:42)",
		"\t... 12 more",
	}
	for _, l := range trace {
		c.cri("stderr", "F", l)
	}
	c.cri("stdout", "F", "GET /health 200")
	cfg := n.config()
	cfg.Multiline = "auto"
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)
	got := r.waitBodies("java-pod", 3)
	assert.Equal(t, []string{"GET / 200", "GET /health 200", strings.Join(trace, "\n")}, got,
		"the trace, last on its stream, went out once the timeout passed")

	// A second trace with nothing after it: released by the timeout.
	c.cri("stderr", "F", "panic: runtime error: index out of range [5] with length 3")
	c.cri("stderr", "F", "")
	c.cri("stderr", "F", "goroutine 1 [running]:")
	c.cri("stderr", "F", "main.main()")
	c.cri("stderr", "F", "\t/app/main.go:20 +0x25")
	got = r.waitBodies("java-pod", 4)
	assert.Equal(t, "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:20 +0x25", got[3])
}
