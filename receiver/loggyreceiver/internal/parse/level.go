package parse

import "bytes"

// Level is a log severity read from a body.
type Level uint8

const (
	LevelUnknown Level = iota
	LevelTrace
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)

// levelWindow is how much of a body DetectLevel searches: applications put
// the level near the start, and looking further would cost time on every
// record and find levels quoted inside messages.
const levelWindow = 64

// levelWords maps a lower-case level name, packed into an integer by
// packWord, to its level.
var levelWords = [...]struct {
	word  uint64
	level Level
}{
	{packWord("info"), LevelInfo},
	{packWord("error"), LevelError},
	{packWord("warn"), LevelWarn},
	{packWord("debug"), LevelDebug},
	{packWord("warning"), LevelWarn},
	{packWord("err"), LevelError},
	{packWord("trace"), LevelTrace},
	{packWord("notice"), LevelInfo},
	{packWord("fatal"), LevelFatal},
	{packWord("critical"), LevelFatal},
	{packWord("panic"), LevelFatal},
}

func packWord(s string) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint64(s[i])
	}
	return v
}

// DetectLevel looks at the start of body for a level the application wrote:
// a klog header (I1124 ...), a leading level word (INFO, [warn], error:,
// WARN[0000]), possibly after up to two timestamp-like tokens starting with
// a digit; a JSON "level"/"severity"/"lvl" member (string, or pino/bunyan
// number 10-60); or logfmt level=/lvl=/severity=. It returns LevelUnknown
// when nothing clear is found. It does not allocate.
func DetectLevel(body []byte) Level {
	w := body
	if len(w) > levelWindow {
		w = w[:levelWindow]
	}
	i := skipBlank(w, 0)
	if i >= len(w) {
		return LevelUnknown
	}
	if w[i] == '{' {
		return jsonLevel(body)
	}
	if lv := klogLevel(w[i:]); lv != LevelUnknown {
		return lv
	}
	// Skip a date and a time ("2024-11-24 18:10:48,123 ERROR ...").
	for k := 0; k < 2 && i < len(w) && isDigit(w[i]); k++ {
		for i < len(w) && w[i] != ' ' && w[i] != '\t' {
			i++
		}
		i = skipBlank(w, i)
	}
	if i < len(w) {
		if lv := leadingLevel(body, i); lv != LevelUnknown {
			return lv
		}
	}
	return logfmtLevel(body, w)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipBlank(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// klogLevel recognises "Lmmdd " where L is one of I, W, E, F.
func klogLevel(b []byte) Level {
	if len(b) < 6 || b[5] != ' ' || !isDigit(b[1]) || !isDigit(b[2]) || !isDigit(b[3]) || !isDigit(b[4]) {
		return LevelUnknown
	}
	switch b[0] {
	case 'I':
		return LevelInfo
	case 'W':
		return LevelWarn
	case 'E':
		return LevelError
	case 'F':
		return LevelFatal
	}
	return LevelUnknown
}

// word reads the letters at b[i:] case-insensitively and returns the level
// they name and the index after them. Words longer than any level name
// return LevelUnknown.
func word(b []byte, i int) (Level, int) {
	var v uint64
	n := 0
	for ; i < len(b); i++ {
		c := b[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		if n++; n > 8 {
			return LevelUnknown, i
		}
		v = v<<8 | uint64(c)
	}
	if n == 0 {
		return LevelUnknown, i
	}
	for _, e := range levelWords {
		if e.word == v {
			return e.level, i
		}
	}
	return LevelUnknown, i
}

// leadingLevel matches a level word at b[i], bare or in brackets, followed
// by the end, a blank, ':' or '[' (logrus: "WARN[0000]").
func leadingLevel(b []byte, i int) Level {
	bracket := b[i] == '['
	if bracket {
		i++
	}
	lv, j := word(b, i)
	if lv == LevelUnknown {
		return LevelUnknown
	}
	if bracket {
		if j < len(b) && b[j] == ']' {
			return lv
		}
		return LevelUnknown
	}
	if j == len(b) {
		return lv
	}
	switch b[j] {
	case ' ', '\t', ':', '[':
		return lv
	}
	return LevelUnknown
}

// logfmtLevel finds level=, lvl= or severity= (at the start or after a
// blank) in the window w of body; the value may be quoted.
func logfmtLevel(body, w []byte) Level {
	for from := 0; ; {
		eq := bytes.IndexByte(w[from:], '=')
		if eq < 0 {
			return LevelUnknown
		}
		eq += from
		from = eq + 1
		k := eq
		for k > 0 && w[k-1] >= 'a' && w[k-1] <= 'z' {
			k--
		}
		if k > 0 && w[k-1] != ' ' && w[k-1] != '\t' {
			continue
		}
		if !isLevelKey(w[k:eq]) {
			continue
		}
		j := eq + 1
		if j < len(body) && body[j] == '"' {
			j++
		}
		lv, end := word(body, j)
		if lv != LevelUnknown && (end == len(body) || body[end] == ' ' || body[end] == '"' || body[end] == '\t') {
			return lv
		}
		return LevelUnknown
	}
}

func isLevelKey(k []byte) bool {
	switch string(k) {
	case "level", "lvl", "severity":
		return true
	}
	return false
}

// jsonLevel finds a "level", "lvl" or "severity" member whose key starts in
// the first levelWindow bytes of body, with a string value naming a level or
// a pino/bunyan number (10 trace ... 60 fatal). Strings are walked in order
// so that keys and values are told apart.
func jsonLevel(body []byte) Level {
	b := body[:min(len(body), levelWindow+32)]
	for i := 0; ; {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return LevelUnknown
		}
		q += i
		if q >= levelWindow {
			return LevelUnknown
		}
		e := q + 1
		for {
			n := bytes.IndexByte(b[e:], '"')
			if n < 0 {
				return LevelUnknown
			}
			e += n
			if b[e-1] != '\\' {
				break
			}
			e++
		}
		i = e + 1
		if !isLevelKey(b[q+1 : e]) {
			continue
		}
		j := skipWS(body, e+1)
		if j >= len(body) || body[j] != ':' {
			continue // it was a value
		}
		j = skipWS(body, j+1)
		if j+1 >= len(body) {
			return LevelUnknown
		}
		if body[j] == '"' {
			lv, end := word(body, j+1)
			if end < len(body) && body[end] == '"' {
				return lv
			}
			return LevelUnknown
		}
		if body[j+1] == '0' && (j+2 == len(body) || !isDigit(body[j+2])) {
			switch body[j] {
			case '1':
				return LevelTrace
			case '2':
				return LevelDebug
			case '3':
				return LevelInfo
			case '4':
				return LevelWarn
			case '5':
				return LevelError
			case '6':
				return LevelFatal
			}
		}
		return LevelUnknown
	}
}
