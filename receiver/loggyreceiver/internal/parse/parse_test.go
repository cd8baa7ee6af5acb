package parse

import (
	"strings"
	"testing"
	"time"
)

// ts is the unix-nano value of a time string, via the standard library.
func ts(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v.UnixNano()
}

type lineCase struct {
	name    string
	raw     string
	time    string // "" means Time 0
	stream  Stream
	partial bool
	body    string
	err     string // substring of the error; "" means success
}

func runLineCases(t *testing.T, f Format, cases []lineCase) {
	t.Helper()
	p := NewParser(f)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := p.Parse([]byte(c.raw))
			if c.err != "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want error containing %q", c.raw, l, c.err)
				}
				if !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Parse(%q) error %q, want it to contain %q", c.raw, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.raw, err)
			}
			var want int64
			if c.time != "" {
				want = ts(t, c.time)
			}
			if l.Time != want || l.Stream != c.stream || l.Partial != c.partial || string(l.Body) != c.body {
				t.Fatalf("Parse(%q) = {Time:%d Stream:%v Partial:%v Body:%q}, want {Time:%d Stream:%v Partial:%v Body:%q}",
					c.raw, l.Time, l.Stream, l.Partial, l.Body, want, c.stream, c.partial, c.body)
			}
		})
	}
}

const t0 = "2024-11-24T18:10:48.123456789Z"

func TestParseCRI(t *testing.T) {
	cases := []lineCase{
		{name: "stdout full", raw: t0 + " stdout F hello world", time: t0, stream: Stdout, body: "hello world"},
		{name: "stderr partial", raw: t0 + " stderr P part one", time: t0, stream: Stderr, partial: true, body: "part one"},
		{name: "more tags", raw: t0 + " stdout F:x:y msg", time: t0, stream: Stdout, body: "msg"},
		{name: "partial more tags", raw: t0 + " stdout P:x msg", time: t0, stream: Stdout, partial: true, body: "msg"},
		{name: "empty message with space", raw: t0 + " stdout F ", time: t0, stream: Stdout, body: ""},
		{name: "empty message without space", raw: t0 + " stdout F", time: t0, stream: Stdout, body: ""},
		{name: "keeps CR", raw: t0 + " stdout F dos line\r", time: t0, stream: Stdout, body: "dos line\r"},
		{name: "keeps spaces", raw: t0 + " stdout F  two  spaces ", time: t0, stream: Stdout, body: " two  spaces "},
		{name: "unicode", raw: t0 + " stdout F héllo 世界 😀", time: t0, stream: Stdout, body: "héllo 世界 😀"},
		{name: "json body", raw: t0 + ` stdout F {"level":"info"}`, time: t0, stream: Stdout, body: `{"level":"info"}`},
		{name: "offset +05:30", raw: "2024-11-24T23:40:48.5+05:30 stdout F x", time: "2024-11-24T23:40:48.5+05:30", stream: Stdout, body: "x"},
		{name: "offset -08:00", raw: "2024-11-24T10:10:48-08:00 stderr F x", time: "2024-11-24T10:10:48-08:00", stream: Stderr, body: "x"},
		{name: "no fraction", raw: "2024-11-24T18:10:48Z stdout F x", time: "2024-11-24T18:10:48Z", stream: Stdout, body: "x"},

		{name: "empty line", raw: "", err: "cri: empty line"},
		{name: "bad timestamp", raw: "2024-11-24 18:10:48 stdout F x", err: "cri: bad timestamp"},
		{name: "timestamp only", raw: t0, err: "cri: missing stream"},
		{name: "timestamp space", raw: t0 + " ", err: "cri: missing stream"},
		{name: "bad stream", raw: t0 + " stdin F x", err: "cri: bad stream"},
		{name: "stream glued", raw: t0 + " stdoutF x", err: "cri: bad stream"},
		{name: "double space", raw: t0 + "  stdout F x", err: "cri: bad stream"},
		{name: "missing tag", raw: t0 + " stdout", err: "cri: missing tag"},
		{name: "empty tag", raw: t0 + " stdout  x", err: "cri: missing tag"},
		{name: "bad tag", raw: t0 + " stdout X x", err: "cri: bad tag"},
		{name: "long tag", raw: t0 + " stdout PF x", err: "cri: bad tag"},
		{name: "binary junk", raw: "\x00\xff\xfe junk \x01", err: "cri: bad timestamp"},
		{name: "plain text", raw: "hello world", err: "cri: bad timestamp"},
	}
	runLineCases(t, CRI, cases)
}

func TestParseDocker(t *testing.T) {
	const tail = `,"stream":"stdout","time":"` + t0 + `"}`
	cases := []lineCase{
		{name: "basic", raw: `{"log":"hello\n"` + tail, time: t0, stream: Stdout, body: "hello"},
		{name: "stderr", raw: `{"log":"oops\n","stream":"stderr","time":"` + t0 + `"}`, time: t0, stream: Stderr, body: "oops"},
		{name: "key order and whitespace", raw: " { \"time\" :\t\"" + t0 + "\" , \"stream\" : \"stderr\" ,\"log\" : \"x\\n\" } \r", time: t0, stream: Stderr, body: "x"},
		{name: "all simple escapes", raw: `{"log":"q\" bs\\ sl\/ b\b f\f n\n r\r t\t end\n"` + tail, time: t0, stream: Stdout, body: "q\" bs\\ sl/ b\b f\f n\n r\r t\t end"},
		{name: "unicode escapes", raw: `{"log":"\u0041\u00e9\u00E9\u4e2d\u0000\n"` + tail, time: t0, stream: Stdout, body: "Aéé中\x00"},
		{name: "surrogate pair", raw: `{"log":"smile \ud83d\ude00!\n"` + tail, time: t0, stream: Stdout, body: "smile 😀!"},
		{name: "lone high surrogate", raw: `{"log":"a\ud800b\n"` + tail, time: t0, stream: Stdout, body: "a\uFFFDb"},
		{name: "high surrogate at end", raw: `{"log":"a\ud800"` + tail, time: t0, stream: Stdout, partial: true, body: "a\uFFFD"},
		{name: "high then non-low", raw: `{"log":"\ud800\u0041\n"` + tail, time: t0, stream: Stdout, body: "\uFFFDA"},
		{name: "two highs then low", raw: `{"log":"\ud800\ud83d\ude00\n"` + tail, time: t0, stream: Stdout, body: "\uFFFD😀"},
		{name: "lone low surrogate", raw: `{"log":"\udc00\n"` + tail, time: t0, stream: Stdout, body: "\uFFFD"},
		{name: "raw multibyte", raw: `{"log":"héllo 世界 😀\n"` + tail, time: t0, stream: Stdout, body: "héllo 世界 😀"},
		{name: "escaped quotes around", raw: `{"log":"\"quoted\" \"twice\"\n"` + tail, time: t0, stream: Stdout, body: `"quoted" "twice"`},
		{name: "backslash before n", raw: `{"log":"a\\n\n"` + tail, time: t0, stream: Stdout, body: `a\n`},
		{name: "escaped backslash at end", raw: `{"log":"a\\"` + tail, time: t0, stream: Stdout, partial: true, body: `a\`},
		{name: "empty message", raw: `{"log":"\n"` + tail, time: t0, stream: Stdout, body: ""},
		{name: "empty log is partial", raw: `{"log":""` + tail, time: t0, stream: Stdout, partial: true, body: ""},
		{name: "partial", raw: `{"log":"first 16k"` + tail, time: t0, stream: Stdout, partial: true, body: "first 16k"},
		{name: "CRLF keeps CR", raw: `{"log":"dos\r\n"` + tail, time: t0, stream: Stdout, body: "dos\r"},
		{name: "only newline stripped once", raw: `{"log":"two\n\n"` + tail, time: t0, stream: Stdout, body: "two\n"},
		{name: "attrs", raw: `{"log":"x\n","attrs":{"a":"b","n":[1,-2.5e+3,0,true,false,null,{"k":"\"}\\"}],"e":{},"z":[]}` + tail, time: t0, stream: Stdout, body: "x"},
		{name: "other scalar members", raw: `{"a":1,"b":-0.5E-2,"c":true,"d":null,"log":"x\n","e":"s\u00e9"` + tail, time: t0, stream: Stdout, body: "x"},
		{name: "missing time", raw: `{"log":"x\n","stream":"stdout"}`, stream: Stdout, body: "x"},
		{name: "missing stream", raw: `{"log":"x\n"}`, body: "x"},
		{name: "unknown stream", raw: `{"log":"x\n","stream":"stdin"}`, stream: StreamUnknown, body: "x"},
		{name: "escaped key and stream", raw: `{"\u006cog":"x\n","stream":"std\u0065rr"}`, stream: Stderr, body: "x"},
		{name: "duplicate log last wins", raw: `{"log":"a\n","log":"b\n"}`, body: "b"},
		{name: "duplicate log alias after copy", raw: `{"log":"a\n","log":"b"}`, partial: true, body: "b"},
		{name: "time with offset", raw: `{"log":"x\n","time":"2024-11-24T23:40:48.5+05:30"}`, time: "2024-11-24T23:40:48.5+05:30", body: "x"},
		{name: "raw tab passes", raw: "{\"log\":\"a\tb\\n\"}", body: "a\tb"},

		{name: "empty line", raw: ``, err: "docker: not a JSON object"},
		{name: "not an object", raw: `["log"]`, err: "docker: not a JSON object"},
		{name: "missing log", raw: `{"stream":"stdout","time":"` + t0 + `"}`, err: "docker: missing log"},
		{name: "empty object", raw: `{}`, err: "docker: missing log"},
		{name: "unterminated string", raw: `{"log":"abc`, err: "docker: unterminated string"},
		{name: "unterminated after escape", raw: `{"log":"abc\"`, err: "docker: unterminated string"},
		{name: "backslash at end", raw: `{"log":"abc\`, err: "docker: unterminated string"},
		{name: "unterminated key", raw: `{"lo`, err: "docker: unterminated string"},
		{name: "truncated after value", raw: `{"log":"abc\n"`, err: "docker: unexpected end of line"},
		{name: "truncated after comma", raw: `{"log":"abc\n",`, err: "docker: unexpected end of line"},
		{name: "truncated after colon", raw: `{"log":`, err: "docker: unexpected end of line"},
		{name: "truncated in attrs", raw: `{"log":"x\n","attrs":{"a":[1,`, err: "docker: unexpected end of line"},
		{name: "only brace", raw: `{`, err: "docker: unexpected end of line"},
		{name: "invalid escape", raw: `{"log":"abc\qdef"}`, err: `docker: invalid escape \q at byte 11`},
		{name: "invalid escape control", raw: "{\"log\":\"\\\x01\"}", err: `docker: invalid escape \<0x01> at byte 8`},
		{name: "short unicode escape", raw: `{"log":"\u12"}`, err: `docker: invalid escape \u at byte 8`},
		{name: "bad hex", raw: `{"log":"\u12g4"}`, err: `docker: invalid escape \u`},
		{name: "invalid escape in attrs", raw: `{"log":"x\n","attrs":{"a":"\x"}}`, err: `docker: invalid escape \x`},
		{name: "trailing garbage", raw: `{"log":"x\n"} junk`, err: "docker: trailing data after object at byte 14"},
		{name: "two objects", raw: `{"log":"x\n"}{"log":"y\n"}`, err: "docker: trailing data"},
		{name: "missing comma", raw: `{"log":"x\n" "stream":"stdout"}`, err: "docker: want ',' or '}' at byte 13"},
		{name: "missing colon", raw: `{"log" "x\n"}`, err: "docker: want ':'"},
		{name: "unquoted key", raw: `{log:"x\n"}`, err: "docker: want object key"},
		{name: "trailing comma", raw: `{"log":"x\n",}`, err: "docker: want object key"},
		{name: "log not string", raw: `{"log":42}`, err: "docker: log is not a string"},
		{name: "log null", raw: `{"log":null}`, err: "docker: log is not a string"},
		{name: "stream not string", raw: `{"log":"x\n","stream":1}`, err: "docker: stream is not a string"},
		{name: "time not string", raw: `{"log":"x\n","time":0}`, err: "docker: time is not a string"},
		{name: "bad time", raw: `{"log":"x\n","time":"yesterday"}`, err: "docker: bad timestamp"},
		{name: "leading zero", raw: `{"log":"x\n","n":01}`, err: "docker: want ',' or '}'"},
		{name: "lone minus", raw: `{"log":"x\n","n":-}`, err: "docker: want value"},
		{name: "bad fraction", raw: `{"log":"x\n","n":1.}`, err: "docker: bad number"},
		{name: "bad exponent", raw: `{"log":"x\n","n":1e}`, err: "docker: bad number"},
		{name: "bad literal", raw: `{"log":"x\n","b":tru}`, err: "docker: want true"},
		{name: "bare word", raw: `{"log":"x\n","b":yes}`, err: "docker: want value"},
		{name: "mismatched brackets", raw: `{"log":"x\n","a":[1}`, err: "docker: want ',' or ']'"},
		{name: "too deep", raw: `{"log":"x\n","a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, err: "docker: nesting too deep"},
		{name: "binary junk", raw: "{\x00\xff\xfe", err: `docker: want object key at byte 1, got \x00`},
	}
	runLineCases(t, Docker, cases)
}

func TestParseAuto(t *testing.T) {
	runLineCases(t, Auto, []lineCase{
		{name: "docker", raw: `{"log":"d\n","stream":"stderr"}`, stream: Stderr, body: "d"},
		{name: "cri", raw: t0 + " stdout F c", time: t0, stream: Stdout, body: "c"},
		{name: "empty", raw: "", err: "cri: empty line"},
		{name: "broken docker", raw: `{"log":`, err: "docker:"},
		{name: "junk", raw: "junk", err: "cri:"},
	})
}

func TestParseFormat(t *testing.T) {
	for s, want := range map[string]Format{"auto": Auto, "docker": Docker, "cri": CRI} {
		if got, err := ParseFormat(s); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "json", "CRI", "auto "} {
		if _, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q) succeeded", s)
		}
	}
}

func TestStreamString(t *testing.T) {
	for s, want := range map[Stream]string{StreamUnknown: "", Stdout: "stdout", Stderr: "stderr", 9: ""} {
		if got := s.String(); got != want {
			t.Errorf("Stream(%d).String() = %q, want %q", s, got, want)
		}
	}
}

// TestParseNoAlloc guards the hot path: parsing well-formed lines of either
// format must not allocate once the scratch buffers have grown.
func TestParseNoAlloc(t *testing.T) {
	lines := [][]byte{
		[]byte(t0 + " stdout F " + strings.Repeat("x", 150)),
		[]byte(`{"log":"` + strings.Repeat("y", 150) + `\n","stream":"stdout","time":"` + t0 + `"}`),
		[]byte(`{"log":"esc \"\u00e9\ud83d\ude00\" \t\n","attrs":{"a":[1,{"b":null}]},"stream":"stderr","time":"2024-11-24T23:40:48.5+05:30"}`),
	}
	p := NewParser(Auto)
	m := NewMerger(1 << 20)
	allocs := testing.AllocsPerRun(100, func() {
		for _, raw := range lines {
			l, err := p.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			m.Add(l)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
