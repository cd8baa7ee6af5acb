package parse

import (
	"encoding/json"
	"strings"
	"testing"
)

type rec struct {
	time      int64
	stream    Stream
	body      string
	truncated bool
}

func toRec(r Record) rec { return rec{r.Time, r.Stream, string(r.Body), r.Truncated} }

func TestMerger(t *testing.T) {
	type step struct {
		line Line
		want *rec // record Add must return, nil for none
	}
	L := func(tm int64, s Stream, partial bool, body string) Line {
		return Line{Time: tm, Stream: s, Partial: partial, Body: []byte(body)}
	}
	R := func(tm int64, s Stream, body string, trunc bool) *rec { return &rec{tm, s, body, trunc} }
	cases := []struct {
		name    string
		max     int
		steps   []step
		flushed []rec
	}{
		{name: "single lines pass through", max: 100, steps: []step{
			{L(1, Stdout, false, "a"), R(1, Stdout, "a", false)},
			{L(2, Stderr, false, ""), R(2, Stderr, "", false)},
			{L(3, StreamUnknown, false, "u"), R(3, StreamUnknown, "u", false)},
		}},
		{name: "CRI P parts joined until F", max: 100, steps: []step{
			{L(1, Stdout, true, "ab"), nil},
			{L(2, Stdout, true, "cd"), nil},
			{L(3, Stdout, false, "ef"), R(1, Stdout, "abcdef", false)},
			{L(4, Stdout, false, "next"), R(4, Stdout, "next", false)},
		}},
		{name: "empty final part", max: 100, steps: []step{
			{L(1, Stderr, true, "abc"), nil},
			{L(2, Stderr, false, ""), R(1, Stderr, "abc", false)},
		}},
		{name: "interleaved streams each pending", max: 100, steps: []step{
			{L(1, Stdout, true, "o1 "), nil},
			{L(2, Stderr, true, "e1 "), nil},
			{L(3, Stdout, true, "o2 "), nil},
			{L(4, Stderr, false, "e2"), R(2, Stderr, "e1 e2", false)},
			{L(5, Stderr, false, "e3"), R(5, Stderr, "e3", false)},
			{L(6, Stdout, false, "o3"), R(1, Stdout, "o1 o2 o3", false)},
		}},
		{name: "over max is cut and rest discarded", max: 10, steps: []step{
			{L(1, Stdout, true, "123456"), nil},
			{L(2, Stderr, true, "e"), nil},
			{L(3, Stdout, true, "789012"), nil},
			{L(4, Stdout, true, "xxxx"), nil},
			{L(5, Stdout, false, "yy"), R(1, Stdout, "1234567890", true)},
			{L(6, Stdout, true, "ok"), nil},
			{L(7, Stdout, false, "!"), R(6, Stdout, "ok!", false)},
			{L(8, Stderr, false, "e"), R(2, Stderr, "ee", false)},
		}},
		{name: "exactly max is not truncated", max: 4, steps: []step{
			{L(1, Stdout, true, "ab"), nil},
			{L(2, Stdout, false, "cd"), R(1, Stdout, "abcd", false)},
			{L(3, Stdout, false, "abcd"), R(3, Stdout, "abcd", false)},
		}},
		{name: "single line over max", max: 4, steps: []step{
			{L(1, Stderr, false, "abcdef"), R(1, Stderr, "abcd", true)},
		}},
		{name: "cut in final part", max: 4, steps: []step{
			{L(1, Stdout, true, "abc"), nil},
			{L(2, Stdout, false, "def"), R(1, Stdout, "abcd", true)},
		}},
		{name: "no limit", max: 0, steps: []step{
			{L(1, Stdout, true, strings.Repeat("a", 1000)), nil},
			{L(2, Stdout, false, "b"), R(1, Stdout, strings.Repeat("a", 1000)+"b", false)},
		}},
		{name: "flush both streams", max: 100, steps: []step{
			{L(1, Stdout, true, "o"), nil},
			{L(2, Stderr, true, "e"), nil},
			{L(3, Stderr, true, "e"), nil},
			{L(4, StreamUnknown, true, "u"), nil},
		}, flushed: []rec{{4, StreamUnknown, "u", false}, {1, Stdout, "o", false}, {2, Stderr, "ee", false}}},
		{name: "flush truncated", max: 2, steps: []step{
			{L(1, Stdout, true, "abc"), nil},
		}, flushed: []rec{{1, Stdout, "ab", true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMerger(c.max)
			for i, s := range c.steps {
				r, ok := m.Add(s.line)
				switch {
				case ok != (s.want != nil):
					t.Fatalf("step %d: Add returned ok=%v (%+v)", i, ok, toRec(r))
				case ok && toRec(r) != *s.want:
					t.Fatalf("step %d: Add = %+v, want %+v", i, toRec(r), *s.want)
				}
			}
			if m.Pending() != (len(c.flushed) > 0) {
				t.Fatalf("Pending() = %v", m.Pending())
			}
			var got []rec
			m.Flush(func(r Record) { got = append(got, toRec(r)) })
			if len(got) != len(c.flushed) {
				t.Fatalf("Flush gave %+v, want %+v", got, c.flushed)
			}
			for i := range got {
				if got[i] != c.flushed[i] {
					t.Fatalf("Flush gave %+v, want %+v", got, c.flushed)
				}
			}
			if m.Pending() {
				t.Fatal("Pending after Flush")
			}
			m.Flush(func(r Record) { t.Fatalf("second Flush emitted %+v", toRec(r)) })
		})
	}
}

func TestMergerReset(t *testing.T) {
	m := NewMerger(100)
	m.Add(Line{Time: 1, Stream: Stdout, Partial: true, Body: []byte("old")})
	m.Add(Line{Time: 1, Stream: Stderr, Partial: true, Body: []byte("old")})
	m.Reset()
	if m.Pending() {
		t.Fatal("Pending after Reset")
	}
	r, ok := m.Add(Line{Time: 2, Stream: Stdout, Body: []byte("new")})
	if !ok || string(r.Body) != "new" || r.Time != 2 {
		t.Fatalf("after Reset: %+v %v", toRec(r), ok)
	}
}

// TestMergerBounded feeds a huge split line and checks the buffer never
// grows beyond max.
func TestMergerBounded(t *testing.T) {
	const max = 1000
	m := NewMerger(max)
	part := []byte(strings.Repeat("z", 300))
	for i := 0; i < 1000; i++ {
		m.Add(Line{Stream: Stdout, Partial: true, Body: part})
		if c := cap(m.streams[Stdout].buf); c > max {
			t.Fatalf("buffer capacity %d > max %d after %d parts", c, max, i+1)
		}
	}
	r, ok := m.Add(Line{Stream: Stdout, Body: part})
	if !ok || len(r.Body) != max || !r.Truncated {
		t.Fatalf("got len %d truncated %v ok %v", len(r.Body), r.Truncated, ok)
	}
}

// TestDockerSplitJoin writes a long message the way docker json-file does,
// in 16 KiB entries of which only the last ends in "\n", interleaved with
// another stream, and checks parse+merge gives the message back.
func TestDockerSplitJoin(t *testing.T) {
	var msg strings.Builder
	for i := 0; msg.Len() < 40000; i++ {
		msg.WriteString("word \"quoted\" é 😀 \\ \t ")
	}
	long := msg.String()
	entry := func(log, stream string) []byte {
		b, err := json.Marshal(struct {
			Log    string `json:"log"`
			Stream string `json:"stream"`
			Time   string `json:"time"`
		}{log, stream, t0})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var lines [][]byte
	for rest := long; ; {
		n := min(len(rest), 16384)
		if n == len(rest) {
			lines = append(lines, entry(rest+"\n", "stdout"))
			break
		}
		lines = append(lines, entry(rest[:n], "stdout"), entry("err line\n", "stderr"))
		rest = rest[n:]
	}
	p := NewParser(Docker)
	m := NewMerger(1 << 20)
	var got []rec
	for _, raw := range lines {
		l, err := p.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := m.Add(l); ok {
			got = append(got, toRec(r))
		}
	}
	if len(got) != 3 || got[0].body != "err line" || got[1].body != "err line" || got[2].body != long || got[2].stream != Stdout || got[2].time != ts(t, t0) {
		t.Fatalf("got %d records; last body length %d, want %d", len(got), len(got[len(got)-1].body), len(long))
	}
}

func TestMergerNoAlloc(t *testing.T) {
	m := NewMerger(1 << 16)
	a := Line{Stream: Stdout, Partial: true, Body: []byte(strings.Repeat("a", 500))}
	b := Line{Stream: Stdout, Body: []byte("end")}
	m.Add(a)
	m.Add(b)
	if n := testing.AllocsPerRun(100, func() { m.Add(a); m.Add(a); m.Add(b) }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
