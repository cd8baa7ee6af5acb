package multiline

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
)

const javaTrace = `2026-11-24 10:15:00 ERROR [main] OrderService - payment failed
java.lang.IllegalStateException: card declined
	at com.shop.Payment.charge(Payment.java:42)
	at com.shop.OrderService.place(OrderService.java:17)
Caused by: java.net.SocketTimeoutException: Read timed out
	at java.base/java.net.SocketInputStream.read(SocketInputStream.java:183)
	... 12 more`

const pythonTrace = `Traceback (most recent call last):
  File "/app/main.py", line 10, in <module>
    run()
  File "/app/main.py", line 6, in run
    1 / 0
ZeroDivisionError: division by zero

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/main.py", line 12, in <module>
    raise ValueError("bad")
ValueError: bad`

const goPanic = `panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.handler({0x4a5b2c, 0x3})
	/app/main.go:12 +0x1d
main.main()
	/app/main.go:20 +0x25

goroutine 7 [chan receive]:
main.worker()
	/app/worker.go:8 +0x3b
created by main.main in goroutine 1
	/app/main.go:18 +0x1f
exit status 2`

const nodeTrace = `TypeError: Cannot read properties of undefined (reading 'id')
    at handler (/app/server.js:14:22)
    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)`

const rubyTrace = "app.rb:3:in `divide': divided by 0 (ZeroDivisionError)\n\tfrom app.rb:3:in `/'\n\tfrom app.rb:7:in `<main>'"

type feed struct {
	stream parse.Stream
	text   string
}

func run(j *Joiner, lines []feed, now time.Time) []parse.Record {
	var out []parse.Record
	emit := func(r parse.Record) {
		r.Body = append([]byte(nil), r.Body...)
		out = append(out, r)
	}
	for i, l := range lines {
		j.Add(parse.Record{Stream: l.stream, Body: []byte(l.text), Time: int64(i + 1)}, now, emit)
	}
	j.Flush(emit)
	return out
}

func lines(stream parse.Stream, text string) []feed {
	var out []feed
	for _, l := range strings.Split(text, "\n") {
		out = append(out, feed{stream, l})
	}
	return out
}

func TestJoinsEachLanguage(t *testing.T) {
	now := time.Now()
	for name, trace := range map[string]string{"java": javaTrace, "python": pythonTrace, "go": goPanic, "node": nodeTrace, "ruby": rubyTrace} {
		t.Run(name, func(t *testing.T) {
			in := append([]feed{{parse.Stderr, "before"}}, lines(parse.Stderr, trace)...)
			in = append(in, feed{parse.Stderr, "after"})
			out := run(New(1<<20, time.Second), in, now)
			require.Len(t, out, 3, "before, the trace, after")
			assert.Equal(t, "before", string(out[0].Body))
			assert.Equal(t, trace, string(out[1].Body))
			assert.Equal(t, int64(2), out[1].Time, "the time of the trace's first line")
			assert.Equal(t, "after", string(out[2].Body))
		})
	}
}

func TestPlainLinesPassStraightThrough(t *testing.T) {
	j := New(1<<20, time.Second)
	var out []string
	for _, l := range []string{"GET / 200", "  indented but nothing held", "INFO started", "WARN slow"} {
		j.Add(parse.Record{Stream: parse.Stdout, Body: []byte(l)}, time.Now(), func(r parse.Record) { out = append(out, string(r.Body)) })
		assert.False(t, j.Pending(), "%q must not be held", l)
	}
	assert.Equal(t, []string{"GET / 200", "  indented but nothing held", "INFO started", "WARN slow"}, out)
}

func TestStreamsAreJoinedSeparately(t *testing.T) {
	tr := lines(parse.Stderr, nodeTrace)
	in := []feed{tr[0], {parse.Stdout, "GET / 200"}, tr[1], {parse.Stdout, "GET /x 404"}, tr[2]}
	out := run(New(1<<20, time.Second), in, time.Now())
	require.Len(t, out, 3)
	assert.Equal(t, "GET / 200", string(out[0].Body), "stdout is not held behind a stderr trace")
	assert.Equal(t, "GET /x 404", string(out[1].Body))
	assert.Equal(t, nodeTrace, string(out[2].Body))
}

func TestTimeoutReleasesTheLastTrace(t *testing.T) {
	j := New(1<<20, 500*time.Millisecond)
	start := time.Now()
	var out []string
	emit := func(r parse.Record) { out = append(out, string(r.Body)) }
	for _, l := range strings.Split(nodeTrace, "\n") {
		j.Add(parse.Record{Stream: parse.Stderr, Body: []byte(l)}, start, emit)
	}
	require.True(t, j.Pending())
	assert.Equal(t, start.Add(500*time.Millisecond), j.Next())
	j.Expire(start.Add(499*time.Millisecond), emit)
	assert.Empty(t, out)
	j.Expire(start.Add(500*time.Millisecond), emit)
	assert.Equal(t, []string{nodeTrace}, out)
	assert.False(t, j.Pending())
	assert.True(t, j.Next().IsZero())
}

func TestJoinedRecordIsCutAtMax(t *testing.T) {
	var in []feed
	in = append(in, feed{parse.Stderr, "java.lang.RuntimeException: boom"})
	for range 1000 {
		in = append(in, feed{parse.Stderr, "\tat com.shop.Deep.recurse(Deep.java:1)"})
	}
	out := run(New(1000, time.Second), in, time.Now())
	require.Len(t, out, 1)
	assert.Len(t, out[0].Body, 1000)
	assert.True(t, out[0].Truncated)
}

func BenchmarkPlainLines(b *testing.B) {
	j := New(1<<20, time.Second)
	rec := parse.Record{Stream: parse.Stdout, Body: []byte(`10.42.1.17 - - [24/Nov/2026:10:15:00 +0000] "GET /api/v1/orders/4711 HTTP/1.1" 200 512`)}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		j.Add(rec, now, func(parse.Record) {})
	}
}
