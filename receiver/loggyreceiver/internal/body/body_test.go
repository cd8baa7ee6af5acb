package body

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
)

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"none": None, "auto": Auto, "json": JSON, "logfmt": Logfmt} {
		got, err := ParseMode(s)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseMode("yaml")
	assert.ErrorContains(t, err, `parse_body: "yaml" is not one of none, auto, json, logfmt`)
}

func TestParse(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 15, 0, 123000000, time.UTC).UnixNano()
	tests := []struct {
		name  string
		mode  Mode
		in    string
		ok    bool
		want  map[string]any
		found Found
	}{
		{"json object", Auto, `{"msg":"hi","n":3,"f":1.5,"ok":true,"nil":null,"a":[1,"x"],"o":{"k":"v"}}`, true,
			map[string]any{"msg": "hi", "n": int64(3), "f": 1.5, "ok": true, "nil": nil, "a": []any{int64(1), "x"}, "o": map[string]any{"k": "v"}}, Found{}},
		{"big integer stays exact", Auto, `{"id":9007199254740993}`, true, map[string]any{"id": int64(9007199254740993)}, Found{}},
		{"escapes", Auto, `{"m":"a\"b\\c\u00fc\ud83d\ude80"}`, true, map[string]any{"m": "a\"b\\cü🚀"}, Found{}},
		{"duplicate key: last wins", Auto, `{"k":1,"k":2}`, true, map[string]any{"k": int64(2)}, Found{}},
		{"level, time, trace", Auto, `{"level":"warn","ts":"2026-11-24T10:15:00.123Z","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`, true, nil,
			Found{Level: parse.LevelWarn, Time: ts, HasTrace: true, HasSpan: true,
				TraceID: [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
				SpanID:  [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}}},
		{"pino numbers, epoch ms", Auto, `{"level":50,"time":1795515300123}`, true, nil, Found{Level: parse.LevelError, Time: 1795515300123 * 1e6}},
		{"epoch seconds float", Auto, `{"severity":"INFO","timestamp":1795515300.5}`, true, nil, Found{Level: parse.LevelInfo, Time: 1795515300500000000}},
		{"nested log.level, traceId", Auto, `{"log":{"level":"debug"},"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}`, true, nil,
			Found{Level: parse.LevelDebug, HasTrace: true, TraceID: [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}}},
		{"invalid ids ignored", Auto, `{"trace_id":"00000000000000000000000000000000","span_id":"xyz"}`, true, nil, Found{}},
		{"cut json stays text", Auto, `{"msg":"hi"`, false, nil, Found{}},
		{"trailing garbage stays text", Auto, `{"msg":"hi"} and more`, false, nil, Found{}},
		{"json array is not an object", Auto, `[1,2]`, false, nil, Found{}},
		{"logfmt", Auto, `level=info msg="user logged in" user=42 path=/login`, true,
			map[string]any{"level": "info", "msg": "user logged in", "user": "42", "path": "/login"}, Found{Level: parse.LevelInfo}},
		{"logfmt escapes", Logfmt, `msg="say \"hi\"" a=b`, true, map[string]any{"msg": `say "hi"`, "a": "b"}, Found{}},
		{"plain text is not logfmt", Auto, `GET /x?a=b 200`, false, nil, Found{}},
		{"one pair is not enough", Auto, `retries=3`, false, nil, Found{}},
		{"unterminated quote", Auto, `a=1 msg="oops`, false, nil, Found{}},
		{"json mode leaves logfmt", JSON, `a=1 b=2`, false, nil, Found{}},
		{"logfmt mode leaves json", Logfmt, `{"a":1}`, false, nil, Found{}},
		{"none", None, `{"a":1}`, false, nil, Found{}},
		{"empty", Auto, ``, false, nil, Found{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, f, ok := Parse(tt.mode, []byte(tt.in))
			require.Equal(t, tt.ok, ok)
			if !ok {
				assert.Nil(t, m)
				return
			}
			if tt.want != nil {
				assert.Equal(t, tt.want, m)
			}
			assert.Equal(t, tt.found, f)
		})
	}
}

// Whatever the input, Parse never panics, and a JSON object it accepts has the
// keys encoding/json sees.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"level":"warn","msg":"x"}`, `a=1 b="c d"`, `{"a":[1,{"b":null}]}`, `{"a":1e400}`, `x`, `{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, _, ok := Parse(Auto, []byte(in))
		if !ok || len(in) == 0 {
			return
		}
		var ref map[string]any
		if json.Unmarshal([]byte(in), &ref) == nil && ref != nil {
			require.Len(t, m, len(ref))
			for k := range ref {
				require.Contains(t, m, k)
			}
		}
	})
}

func BenchmarkParseJSON(b *testing.B) {
	in := []byte(`{"level":"info","ts":"2026-11-24T10:15:00.123Z","msg":"order placed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","user":4711,"latency_ms":12}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Parse(Auto, in)
	}
}
