package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type dockerEntry struct {
	Log    string `json:"log"`
	Stream string `json:"stream"`
	Time   string `json:"time"`
}

func noControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return false
		}
	}
	return true
}

// FuzzParseDocker checks that Parse never panics, and differentially
// against encoding/json: (1) a line written by json.Marshal, as docker
// does, decodes to the original text; (2) on arbitrary input, both decoders
// agree on success and on the values, within the documented differences
// (raw control characters and invalid UTF-8 are passed through, nesting is
// limited).
func FuzzParseDocker(f *testing.F) {
	for _, s := range []string{
		`{"log":"hello\n","stream":"stdout","time":"2024-11-24T18:10:48.123456789Z"}`,
		`{"log":"part","stream":"stderr","time":"2024-11-24T23:40:48.5+05:30"}`,
		`{"log":"\u00e9\ud83d\ude00\ud800 \"q\" \\ \/ \b\f\r\t\n","attrs":{"a":[1,-2.5e3,true,false,null,{}]}}`,
		` { "stream" : "x" , "log" : "" } `,
		`{"log":"a\n","log":5}`,
		`{"time":"bad","time":"2024-11-24T18:10:48Z","log":"\n"}`,
		`{"log":"x\q"}`,
		`{"log":"abc`,
		`{"log":"x\n"} junk`,
		`{"log":"x\n","n":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}`,
		`{"log":"x\n","n":[0,-0,1.5e-3,2E+7,-12.25e10],"s":"\u20ac\"\/","o":{"a":{"b":[true,false,null,""]}},"stream":"stdout"}`,
		"{\x00\xff",
		``,
	} {
		f.Add([]byte(s), "some text\n")
	}
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`[]`), "<tag> & \u2028 \x01 \xff\n")
	f.Add([]byte(`null`), "\n\n")
	f.Add([]byte(`{"log":"\n"}`), "😀 no newline")

	p := NewParser(Docker)
	f.Fuzz(func(t *testing.T, raw []byte, log string) {
		// (1) Marshal round trip.
		stream := []string{"stdout", "stderr", "weird"}[len(log)%3]
		enc, err := json.Marshal(dockerEntry{log, stream, "2024-11-24T23:40:48.000000001+05:30"})
		if err != nil {
			t.Fatal(err)
		}
		var back dockerEntry // log as encoding/json reads it back (invalid UTF-8 replaced)
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatal(err)
		}
		l, err := p.Parse(enc)
		if err != nil {
			t.Fatalf("Parse(%s): %v", enc, err)
		}
		want, complete := strings.CutSuffix(back.Log, "\n")
		if string(l.Body) != want || l.Partial == complete || l.Stream != streamOf([]byte(stream)) || l.Time != 1732471848000000001 {
			t.Fatalf("Parse(%s) = %+v body %q, want body %q partial %v", enc, l, l.Body, want, !complete)
		}

		// (2) Arbitrary input.
		l, err = p.Parse(raw)
		var m map[string]json.RawMessage
		jerr := json.Unmarshal(raw, &m)
		if jerr != nil || m == nil {
			if err == nil && utf8.Valid(raw) && noControl(raw) {
				t.Fatalf("Parse(%q) succeeded, encoding/json says %v", raw, jerr)
			}
			return
		}
		var ref Line
		var log2, stream2, time2 string
		rawLog, hasLog := m["log"]
		valid := hasLog && json.Unmarshal(rawLog, &log2) == nil
		if rs, ok := m["stream"]; ok {
			valid = valid && json.Unmarshal(rs, &stream2) == nil
			ref.Stream = streamOf([]byte(stream2))
		}
		if rt, ok := m["time"]; ok {
			var okTime bool
			valid = valid && json.Unmarshal(rt, &time2) == nil
			ref.Time, okTime = ParseTime([]byte(time2))
			valid = valid && okTime
		}
		if !valid {
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error (log %q, stream %q, time %q)", raw, l, rawLog, m["stream"], m["time"])
			}
			return
		}
		if err != nil {
			if !errors.Is(err, errDockerDepth) {
				t.Fatalf("Parse(%q): %v, but encoding/json reads it", raw, err)
			}
			return
		}
		want, complete = strings.CutSuffix(log2, "\n")
		if l.Stream != ref.Stream || l.Time != ref.Time || l.Partial == complete {
			t.Fatalf("Parse(%q) = %+v, encoding/json gives log %q stream %q time %q", raw, l, log2, stream2, time2)
		}
		if utf8.Valid(raw) && string(l.Body) != want {
			t.Fatalf("Parse(%q) body %q, encoding/json gives %q", raw, l.Body, want)
		}
	})
}

// criRef is a plain reference decoder built on strings and time.Parse.
func criRef(raw string) (l Line, tsField string, ok bool) {
	f := strings.SplitN(raw, " ", 4)
	if len(f) < 3 {
		return l, "", false
	}
	tm, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil || tm.Before(minTime) || tm.After(maxTime) {
		return l, "", false
	}
	l.Time = tm.UnixNano()
	switch f[1] {
	case "stdout":
		l.Stream = Stdout
	case "stderr":
		l.Stream = Stderr
	default:
		return l, "", false
	}
	switch tag, _, _ := strings.Cut(f[2], ":"); tag {
	case "P":
		l.Partial = true
	case "F":
	default:
		return l, "", false
	}
	if len(f) == 4 {
		l.Body = []byte(f[3])
	}
	return l, f[0], true
}

// FuzzParseCRI checks that Parse never panics, that lines built like a
// runtime writes them decode exactly, and agreement with criRef.
func FuzzParseCRI(f *testing.F) {
	f.Add([]byte("2024-11-24T18:10:48.123456789Z stdout F hello"), int64(0), []byte("msg"), uint8(0))
	f.Add([]byte("2024-11-24T23:40:48.5+05:30 stderr P:x part"), int64(-1), []byte(""), uint8(7))
	f.Add([]byte("2024-11-24T18:10:48Z stdout F"), int64(1<<62), []byte("a\r"), uint8(3))
	f.Add([]byte("2024-11-24T18:10:48Z stdout X msg"), int64(-1<<63), []byte("  x  "), uint8(12))
	f.Add([]byte("2024-11-24 18:10:48 stdout F x"), int64(1<<63-1), []byte("\xff\x00"), uint8(255))
	f.Add([]byte(""), int64(1732471848123000000), []byte("😀"), uint8(9))
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("", -8*3600), time.FixedZone("", 23*3600+59*60)}

	p := NewParser(CRI)
	f.Fuzz(func(t *testing.T, raw []byte, ns int64, msg []byte, flags uint8) {
		// A line as a runtime writes it.
		tm := time.Unix(0, ns).In(zones[flags%4])
		stream, tag := "stdout", "F"
		if flags&4 != 0 {
			stream = "stderr"
		}
		if flags&8 != 0 {
			tag = "P"
		}
		msg = bytes.ReplaceAll(msg, []byte("\n"), nil)
		line := tm.Format(time.RFC3339Nano) + " " + stream + " " + tag
		if len(msg) > 0 || flags&16 != 0 {
			line += " " + string(msg)
		}
		l, err := p.Parse([]byte(line))
		if err != nil || l.Time != ns || l.Stream.String() != stream || l.Partial != (tag == "P") || !bytes.Equal(l.Body, msg) {
			t.Fatalf("Parse(%q) = %+v, %v; want time %d body %q", line, l, err, ns, msg)
		}

		// Arbitrary input against the reference.
		l, err = p.Parse(raw)
		ref, tsField, ok := criRef(string(raw))
		switch {
		case err == nil && !ok:
			t.Fatalf("Parse(%q) = %+v, reference rejects it", raw, l)
		case err == nil && (l.Time != ref.Time || l.Stream != ref.Stream || l.Partial != ref.Partial || string(l.Body) != string(ref.Body)):
			t.Fatalf("Parse(%q) = %+v body %q, reference %+v body %q", raw, l, l.Body, ref, ref.Body)
		case err == nil && len(l.Body) > 0 && &l.Body[len(l.Body)-1] != &raw[len(raw)-1]:
			t.Fatalf("Parse(%q): body does not alias the line", raw)
		case err != nil && ok && strictRFC3339.MatchString(tsField):
			t.Fatalf("Parse(%q): %v, reference accepts %+v", raw, err, ref)
		}
	})
}

// FuzzMerger drives a Merger with an op sequence decoded from data and
// compares it with a simple unbounded model, checking the memory bound.
func FuzzMerger(f *testing.F) {
	f.Add([]byte{10, 4 | 3<<3, 'a', 'b', 'c', 5 | 2<<3, 'x', 'y', 1 | 1<<3, 'z', 0 | 1<<3, 'q'})
	f.Add([]byte{0, 4 | 31<<3, 'a', 1, 0xfe, 5, 0xff, 4})
	f.Add([]byte{3, 6 | 8<<3, '1', '2', '3', '4', '5', '6', '7', '8', 6, 2 | 2<<3, 'e', 'f'})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		max := int(data[0] % 64)
		cut := func(b []byte) (string, bool) {
			if max > 0 && len(b) > max {
				return string(b[:max]), true
			}
			return string(b), false
		}
		type state struct {
			active bool
			time   int64
			buf    []byte
		}
		var model [3]state
		m := NewMerger(max)
		for i := 1; i < len(data); i++ {
			op := data[i]
			switch op {
			case 0xff:
				var got, want []rec
				m.Flush(func(r Record) { got = append(got, toRec(r)) })
				for s := range model {
					if model[s].active {
						body, tr := cut(model[s].buf)
						want = append(want, rec{model[s].time, Stream(s), body, tr})
						model[s].active = false
					}
				}
				if len(got) != len(want) {
					t.Fatalf("op %d: Flush %+v, want %+v", i, got, want)
				}
				for k := range got {
					if got[k] != want[k] {
						t.Fatalf("op %d: Flush %+v, want %+v", i, got, want)
					}
				}
				continue
			case 0xfe:
				m.Reset()
				model = [3]state{}
				continue
			}
			n := min(int(op>>3)%32, len(data)-i-1)
			l := Line{Time: int64(i), Stream: Stream(op % 3), Partial: op&4 != 0, Body: data[i+1 : i+1+n]}
			i += n
			var want *rec
			s := &model[l.Stream]
			if !s.active {
				s.time, s.buf = l.Time, nil
			}
			s.buf = append(s.buf, l.Body...)
			s.active = l.Partial
			if !l.Partial {
				body, tr := cut(s.buf)
				want = &rec{s.time, l.Stream, body, tr}
			}
			r, ok := m.Add(l)
			if ok != (want != nil) || ok && toRec(r) != *want {
				t.Fatalf("op %d: Add(%+v) = %+v, %v; want %+v", i, l, toRec(r), ok, want)
			}
			if m.Pending() != (model[0].active || model[1].active || model[2].active) {
				t.Fatalf("op %d: Pending() = %v", i, m.Pending())
			}
			for k := range m.streams {
				if c := cap(m.streams[k].buf); max > 0 && c > max {
					t.Fatalf("op %d: stream %d buffer capacity %d > max %d", i, k, c, max)
				}
			}
		}
	})
}
