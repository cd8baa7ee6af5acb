// Package body turns structured log text (a JSON object, a logfmt line) into
// a map, and reads the level, time and trace context applications put there.
package body

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
)

// Mode is the parse_body setting.
type Mode uint8

const (
	None Mode = iota
	Auto
	JSON
	Logfmt
)

// ParseMode reads "none", "auto", "json" or "logfmt".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "none", "":
		return None, nil
	case "auto":
		return Auto, nil
	case "json":
		return JSON, nil
	case "logfmt":
		return Logfmt, nil
	}
	return None, fmt.Errorf("parse_body: %q is not one of none, auto, json, logfmt", s)
}

// Found is what a structured body says about its own record.
type Found struct {
	Level    parse.Level
	Time     int64 // unix ns; 0 if absent or invalid
	TraceID  [16]byte
	HasTrace bool
	SpanID   [8]byte
	HasSpan  bool
}

// Parse decodes text per mode. ok is false for anything that is not wholly a
// JSON object or a logfmt line (plain text, invalid or cut JSON): the caller
// then keeps the text as it is, so nothing is ever lost.
func Parse(mode Mode, text []byte) (m map[string]any, f Found, ok bool) {
	trimmed := bytes.TrimSpace(text)
	switch {
	case mode == None || len(trimmed) == 0:
		return nil, f, false
	case trimmed[0] == '{' && (mode == Auto || mode == JSON):
		m, ok = parseJSON(trimmed)
	case mode == Auto || mode == Logfmt:
		m, ok = parseLogfmt(trimmed)
	}
	if !ok {
		return nil, f, false
	}
	return m, find(m), true
}

func parseJSON(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing text after the object
	}
	return normalize(m).(map[string]any), true
}

// normalize turns json.Numbers into int64 where they are whole and fit,
// float64 otherwise, as pdata maps want them.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	}
	return v
}

// parseLogfmt accepts key=value pairs only (values bare or "quoted"), at least
// two, so that ordinary text with an '=' in it stays text.
func parseLogfmt(b []byte) (map[string]any, bool) {
	if bytes.IndexByte(b, '=') < 0 {
		return nil, false
	}
	m := map[string]any{}
	s := string(b)
	for s != "" {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || !validKey(s[:eq]) {
			return nil, false
		}
		key, rest := s[:eq], s[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end, v, ok := quoted(rest)
			if !ok {
				return nil, false
			}
			val, rest = v, rest[end:]
			if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
				return nil, false
			}
		} else {
			end := strings.IndexAny(rest, " \t")
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
			if strings.ContainsAny(val, `="`) {
				return nil, false
			}
		}
		m[key] = val
		s = rest
	}
	return m, len(m) >= 2
}

func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '@' || c == '/') {
			return false
		}
	}
	return k != ""
}

// quoted reads a "..." value with \" and \\ escapes; end is just past it.
func quoted(s string) (end int, val string, ok bool) {
	var sb strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return 0, "", false
			}
			i++
			switch s[i] {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			default:
				sb.WriteByte(s[i])
			}
		case '"':
			return i + 1, sb.String(), true
		default:
			sb.WriteByte(c)
		}
	}
	return 0, "", false
}

var (
	levelKeys = []string{"level", "severity", "lvl", "log.level", "loglevel"}
	timeKeys  = []string{"time", "timestamp", "ts", "@timestamp"}
	traceKeys = []string{"trace_id", "traceId", "trace.id", "traceid"}
	spanKeys  = []string{"span_id", "spanId", "span.id", "spanid"}
)

func find(m map[string]any) Found {
	var f Found
	if v, ok := lookup(m, levelKeys); ok {
		f.Level = level(v)
	}
	if v, ok := lookup(m, timeKeys); ok {
		f.Time = timestamp(v)
	}
	if v, ok := lookup(m, traceKeys); ok {
		f.HasTrace = decodeID(v, f.TraceID[:])
	}
	if v, ok := lookup(m, spanKeys); ok {
		f.HasSpan = decodeID(v, f.SpanID[:])
	}
	return f
}

// lookup finds the first key present, a dotted key also as nested objects
// ({"log":{"level":..}} for log.level).
func lookup(m map[string]any, keys []string) (any, bool) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v, true
		}
		if head, tail, dotted := strings.Cut(k, "."); dotted {
			if sub, ok := m[head].(map[string]any); ok {
				if v, ok := sub[tail]; ok {
					return v, true
				}
			}
		}
	}
	return nil, false
}

func level(v any) parse.Level {
	switch x := v.(type) {
	case string:
		if l := parse.DetectLevel([]byte(x)); l != parse.LevelUnknown {
			return l
		}
		if n, err := strconv.Atoi(x); err == nil {
			return numericLevel(int64(n))
		}
	case int64:
		return numericLevel(x)
	case float64:
		return numericLevel(int64(x))
	}
	return parse.LevelUnknown
}

// numericLevel reads pino's and bunyan's numbers: 10 trace ... 60 fatal.
func numericLevel(n int64) parse.Level {
	switch {
	case n >= 60:
		return parse.LevelFatal
	case n >= 50:
		return parse.LevelError
	case n >= 40:
		return parse.LevelWarn
	case n >= 30:
		return parse.LevelInfo
	case n >= 20:
		return parse.LevelDebug
	case n >= 10:
		return parse.LevelTrace
	}
	return parse.LevelUnknown
}

// timestamp reads RFC 3339 strings and epoch numbers, telling seconds,
// milliseconds, microseconds and nanoseconds apart by magnitude. Whole numbers
// are converted exactly; fractions to the microsecond.
func timestamp(v any) int64 {
	switch t := v.(type) {
	case string:
		if ns, ok := parse.ParseTime([]byte(t)); ok {
			return ns
		}
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return epochInt(n)
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return epochFloat(f)
		}
	case int64:
		return epochInt(t)
	case float64:
		return epochFloat(t)
	}
	return 0
}

func epochInt(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n < 1e11:
		return n * 1e9
	case n < 1e14:
		return n * 1e6
	case n < 1e17:
		return n * 1e3
	}
	return n
}

func epochFloat(x float64) int64 {
	switch {
	case x <= 0 || math.IsNaN(x) || math.IsInf(x, 0):
		return 0
	case x < 1e11:
		return int64(math.Round(x*1e6)) * 1e3
	case x < 1e14:
		return int64(math.Round(x*1e3)) * 1e3
	case x < 1e17:
		return int64(math.Round(x)) * 1e3
	case x < 9e18:
		return int64(x)
	}
	return 0
}

// decodeID fills dst from hex of exactly its length; all zeros is invalid.
func decodeID(v any, dst []byte) bool {
	s, ok := v.(string)
	if !ok || len(s) != 2*len(dst) {
		return false
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return false
	}
	for _, b := range dst {
		if b != 0 {
			return true
		}
	}
	return false
}
