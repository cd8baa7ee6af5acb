package parse

import "unicode/utf8"

// ValidUTF8 returns body unchanged when it is valid UTF-8 (the common case,
// checked without copying). Otherwise it copies body into dst (reusing its
// capacity) with each invalid byte replaced by U+FFFD, the same rule as
// utf8.DecodeRune and encoding/json, and returns replaced=true. OTLP string
// values must be valid UTF-8.
func ValidUTF8(dst, body []byte) (out []byte, replaced bool) {
	if utf8.Valid(body) {
		return body, false
	}
	out = dst[:0]
	start := 0
	for i := 0; i < len(body); {
		if body[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, body[start:i]...)
			out = append(out, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(out, body[start:]...), true
}
