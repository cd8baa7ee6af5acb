package parse

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

var (
	errDockerNotObject    = newErr("docker: not a JSON object")
	errDockerEOF          = newErr("docker: unexpected end of line")
	errDockerUnterminated = newErr("docker: unterminated string")
	errDockerNoLog        = newErr("docker: missing log")
	errDockerLogType      = newErr("docker: log is not a string")
	errDockerStreamType   = newErr("docker: stream is not a string")
	errDockerTimeType     = newErr("docker: time is not a string")
	errDockerTime         = newErr("docker: bad timestamp")
	errDockerDepth        = newErr("docker: nesting too deep")
)

// maxDepth bounds nesting inside skipped values (such as "attrs") so that a
// hostile line cannot make the skipper recurse without limit.
const maxDepth = 64

// parseDocker decodes one docker json-file entry:
// {"log":"...","stream":"stdout|stderr","time":"<RFC3339Nano>"}, keys in any
// order, other members skipped after checking they are well-formed JSON.
// A duplicated key takes its last value, as with encoding/json.
func (p *Parser) parseDocker(raw []byte) (Line, error) {
	var l Line
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return l, errDockerNotObject
	}
	i = skipWS(raw, i+1)
	haveLog := false
	var keyErr [keyOther]error // per known key, the error of its last value
	if i < len(raw) && raw[i] == '}' {
		i++
	} else {
		for {
			if i >= len(raw) {
				return Line{}, errDockerEOF
			}
			if raw[i] != '"' {
				return Line{}, unexpected("object key", raw, i)
			}
			key, next, err := p.str(raw, i+1, &p.aux)
			if err != nil {
				return Line{}, err
			}
			kind := keyKind(key)
			i = skipWS(raw, next)
			if i >= len(raw) {
				return Line{}, errDockerEOF
			}
			if raw[i] != ':' {
				return Line{}, unexpected("':'", raw, i)
			}
			i = skipWS(raw, i+1)
			if i >= len(raw) {
				return Line{}, errDockerEOF
			}

			// A bad value of a known key is remembered rather than returned at
			// once: a later duplicate of the key wins, as with encoding/json.
			switch {
			case kind == keyOther:
				i, err = p.skipValue(raw, i, 0)
			case raw[i] != '"':
				i, err = p.skipValue(raw, i, 0)
				keyErr[kind] = typeErrs[kind]
			case kind == keyLog:
				l.Body, i, err = p.str(raw, i+1, &p.buf)
				keyErr[kind] = nil
			case kind == keyStream:
				var v []byte
				v, i, err = p.str(raw, i+1, &p.aux)
				l.Stream, keyErr[kind] = streamOf(v), nil
			case kind == keyTime:
				var v []byte
				v, i, err = p.str(raw, i+1, &p.aux)
				var ok bool
				l.Time, ok = ParseTime(v)
				keyErr[kind] = nil
				if !ok {
					keyErr[kind] = errDockerTime
				}
			}
			if err != nil {
				return Line{}, err
			}
			haveLog = haveLog || kind == keyLog

			i = skipWS(raw, i)
			if i >= len(raw) {
				return Line{}, errDockerEOF
			}
			if raw[i] == ',' {
				i = skipWS(raw, i+1)
				continue
			}
			if raw[i] == '}' {
				i++
				break
			}
			return Line{}, unexpected("',' or '}'", raw, i)
		}
	}
	if i = skipWS(raw, i); i < len(raw) {
		return Line{}, fmt.Errorf("docker: trailing data after object at byte %d", i)
	}
	if !haveLog {
		return Line{}, errDockerNoLog
	}
	for _, err := range keyErr {
		if err != nil {
			return Line{}, err
		}
	}
	// Docker ends every complete message with "\n"; a split one lacks it.
	if n := len(l.Body); n > 0 && l.Body[n-1] == '\n' {
		l.Body = l.Body[:n-1]
	} else {
		l.Partial = true
	}
	return l, nil
}

var typeErrs = [...]error{keyLog: errDockerLogType, keyStream: errDockerStreamType, keyTime: errDockerTimeType}

const (
	keyLog = iota
	keyStream
	keyTime
	keyOther
)

func keyKind(k []byte) int {
	switch string(k) {
	case "log":
		return keyLog
	case "stream":
		return keyStream
	case "time":
		return keyTime
	}
	return keyOther
}

func streamOf(v []byte) Stream {
	switch string(v) {
	case "stdout":
		return Stdout
	case "stderr":
		return Stderr
	}
	return StreamUnknown
}

func skipWS(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func unexpected(want string, raw []byte, i int) error {
	return fmt.Errorf("docker: want %s at byte %d, got %s", want, i, quoteByte(raw[i]))
}

// quoteByte shows a byte readably in an error, whatever junk the line holds.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(c)
	}
	return fmt.Sprintf("\\x%02x", c)
}

// str decodes the JSON string whose body starts at raw[i] (just past the
// opening quote). It returns the decoded bytes and the index just past the
// closing quote. Without escapes the result aliases raw; otherwise it is
// built in *dst, which keeps its capacity for the next call.
//
// Raw control characters and invalid UTF-8 are passed through rather than
// rejected: the runtime never writes them, and if something else did, the
// text is still worth delivering (ValidUTF8 cleans it later).
func (p *Parser) str(raw []byte, i int, dst *[]byte) ([]byte, int, error) {
	q := bytes.IndexByte(raw[i:], '"')
	if q < 0 {
		return nil, 0, errDockerUnterminated
	}
	q += i // absolute index of the next '"' at or after i
	bs := bytes.IndexByte(raw[i:q], '\\')
	if bs < 0 {
		return raw[i:q], q + 1, nil
	}

	out := (*dst)[:0]
	for {
		// Here raw[i:q] holds no '"'; bs is the first '\\' in it, or -1.
		if bs < 0 {
			out = append(out, raw[i:q]...)
			*dst = out
			return out, q + 1, nil
		}
		out = append(out, raw[i:i+bs]...)
		i += bs
		if i+1 >= len(raw) {
			*dst = out
			return nil, 0, errDockerUnterminated
		}
		var err error
		out, i, err = unescape(out, raw, i)
		if err != nil {
			*dst = out
			return nil, 0, err
		}
		if i > q { // the escape consumed the quote we had found (\")
			n := bytes.IndexByte(raw[i:], '"')
			if n < 0 {
				*dst = out
				return nil, 0, errDockerUnterminated
			}
			q = i + n
		}
		bs = bytes.IndexByte(raw[i:q], '\\')
	}
}

// unescape decodes the escape at raw[i] == '\\' (with raw[i+1] present),
// appends it to out and returns the index after it.
func unescape(out, raw []byte, i int) ([]byte, int, error) {
	c := raw[i+1]
	switch c {
	case '"', '\\', '/':
		return append(out, c), i + 2, nil
	case 'n':
		return append(out, '\n'), i + 2, nil
	case 't':
		return append(out, '\t'), i + 2, nil
	case 'r':
		return append(out, '\r'), i + 2, nil
	case 'b':
		return append(out, '\b'), i + 2, nil
	case 'f':
		return append(out, '\f'), i + 2, nil
	case 'u':
		r, ok := hex4(raw, i+2)
		if !ok {
			return out, 0, badEscape(raw, i)
		}
		i += 6
		if r >= 0xD800 && r < 0xDC00 {
			// High surrogate: combine with a following low one, else it
			// stands alone and becomes U+FFFD (the next escape is left for
			// the caller).
			if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				if r2, ok := hex4(raw, i+2); ok && r2 >= 0xDC00 && r2 < 0xE000 {
					return utf8.AppendRune(out, 0x10000+(r-0xD800)<<10+(r2-0xDC00)), i + 6, nil
				}
			}
			r = utf8.RuneError
		} else if r >= 0xDC00 && r < 0xE000 {
			r = utf8.RuneError
		}
		return utf8.AppendRune(out, r), i, nil
	}
	return out, 0, badEscape(raw, i)
}

// badEscape reports the escape at raw[i]; i is a 0-based offset in the line.
func badEscape(raw []byte, i int) error {
	if c := raw[i+1]; c < 0x20 || c >= 0x7f {
		return fmt.Errorf("docker: invalid escape \\<0x%02x> at byte %d", c, i)
	}
	return fmt.Errorf("docker: invalid escape \\%c at byte %d", raw[i+1], i)
}

// hex4 reads the four hex digits of a \u escape starting at raw[i].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipValue checks the JSON value starting at raw[i] and returns the index
// just past it. Values we do not use must still be skipped exactly, or a
// '}' or ',' inside them would be taken for the end of the entry.
func (p *Parser) skipValue(raw []byte, i, depth int) (int, error) {
	switch c := raw[i]; c {
	case '"':
		_, next, err := p.str(raw, i+1, &p.aux)
		return next, err
	case '{', '[':
		if depth >= maxDepth {
			return 0, errDockerDepth
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		i = skipWS(raw, i+1)
		if i < len(raw) && raw[i] == end {
			return i + 1, nil
		}
		for {
			if i >= len(raw) {
				return 0, errDockerEOF
			}
			var err error
			if c == '{' {
				if raw[i] != '"' {
					return 0, unexpected("object key", raw, i)
				}
				if _, i, err = p.str(raw, i+1, &p.aux); err != nil {
					return 0, err
				}
				if i = skipWS(raw, i); i >= len(raw) {
					return 0, errDockerEOF
				}
				if raw[i] != ':' {
					return 0, unexpected("':'", raw, i)
				}
				if i = skipWS(raw, i+1); i >= len(raw) {
					return 0, errDockerEOF
				}
			}
			if i, err = p.skipValue(raw, i, depth+1); err != nil {
				return 0, err
			}
			if i = skipWS(raw, i); i >= len(raw) {
				return 0, errDockerEOF
			}
			switch raw[i] {
			case ',':
				i = skipWS(raw, i+1)
			case end:
				return i + 1, nil
			default:
				return 0, unexpected(fmt.Sprintf("',' or '%c'", end), raw, i)
			}
		}
	case 't':
		return literal(raw, i, "true")
	case 'f':
		return literal(raw, i, "false")
	case 'n':
		return literal(raw, i, "null")
	}
	return number(raw, i)
}

func literal(raw []byte, i int, word string) (int, error) {
	if len(raw)-i < len(word) || string(raw[i:i+len(word)]) != word {
		return 0, unexpected(word, raw, i)
	}
	return i + len(word), nil
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at raw[i].
func number(raw []byte, i int) (int, error) {
	start := i
	if raw[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(raw) && raw[i] == '0':
		i++
	case digits() == 0:
		if i >= len(raw) {
			return 0, errDockerEOF
		}
		return 0, unexpected("value", raw, i)
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if digits() == 0 {
			return 0, fmt.Errorf("docker: bad number at byte %d", start)
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, fmt.Errorf("docker: bad number at byte %d", start)
		}
	}
	return i, nil
}
