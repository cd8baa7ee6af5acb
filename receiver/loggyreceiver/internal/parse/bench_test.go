package parse

import (
	"strings"
	"testing"
)

// benchMsg pads a typical application message so that the whole line is
// 200 bytes in each format.
func benchMsg(n int) string {
	const m = `2024-11-24 18:10:48.123 INFO  [http-nio-8080-exec-7] c.e.shop.OrderController : order 81723 accepted for customer 5521, total 129.90 EUR, items 3 `
	return (m + strings.Repeat("x", n))[:n]
}

func BenchmarkParseCRI(b *testing.B) {
	const prefix = t0 + " stdout F "
	raw := []byte(prefix + benchMsg(200-len(prefix)))
	p := NewParser(CRI)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := p.Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDocker(b *testing.B) {
	const head, tail = `{"log":"`, `\n","stream":"stdout","time":"` + t0 + `"}`
	raw := []byte(head + benchMsg(200-len(head)-len(tail)) + tail)
	p := NewParser(Docker)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := p.Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAutoMerge is the whole per-line path of the caller.
func BenchmarkParseAutoMerge(b *testing.B) {
	const head, tail = `{"log":"`, `\n","stream":"stdout","time":"` + t0 + `"}`
	raw := []byte(head + benchMsg(200-len(head)-len(tail)) + tail)
	p, m := NewParser(Auto), NewMerger(1<<20)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		l, err := p.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := m.Add(l); !ok {
			b.Fatal("no record")
		}
	}
}

func BenchmarkParseTime(b *testing.B) {
	raw := []byte("2024-11-24T23:40:48.123456789+05:30")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseTime(raw); !ok {
			b.Fatal("bad time")
		}
	}
}

func BenchmarkDetectLevel(b *testing.B) {
	bodies := [][]byte{
		[]byte(benchMsg(160)),
		[]byte(`I1124 18:10:48.123456       1 controller.go:123] "Reconciling" object="default/web"`),
		[]byte(`{"time":"2024-11-24T18:10:48.123456789Z","level":"INFO","msg":"request served","status":200}`),
		[]byte(`time="2024-11-24T18:10:48Z" level=warning msg="slow request" duration=1.2s`),
		[]byte(`GET /healthz 200 0.3ms - no level here at all, just an access log line`),
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() { // one body per op, cycling through typical shapes
		DetectLevel(bodies[i%len(bodies)])
		i++
	}
}

func BenchmarkValidUTF8(b *testing.B) {
	body := []byte(benchMsg(200))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		ValidUTF8(nil, body)
	}
}
