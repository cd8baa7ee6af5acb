package parse

import "bytes"

// Fixed CRI errors are sentinels so that even a file full of junk does not
// allocate per line.
var (
	errCRIEmpty    = newErr("cri: empty line")
	errCRITime     = newErr("cri: bad timestamp")
	errCRINoStream = newErr("cri: missing stream")
	errCRIStream   = newErr("cri: bad stream (want stdout or stderr)")
	errCRINoTag    = newErr("cri: missing tag")
	errCRITag      = newErr("cri: bad tag (want P or F)")
)

// parseCRI decodes `<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <msg>`.
// The message is everything after the single space following the tag, kept
// byte for byte (including a trailing '\r'), so Body aliases raw.
func parseCRI(raw []byte) (Line, error) {
	var l Line
	if len(raw) == 0 {
		return l, errCRIEmpty
	}
	sp := bytes.IndexByte(raw, ' ')
	if sp < 0 {
		if _, ok := ParseTime(raw); ok {
			return l, errCRINoStream
		}
		return l, errCRITime
	}
	t, ok := ParseTime(raw[:sp])
	if !ok {
		return l, errCRITime
	}
	l.Time = t
	rest := raw[sp+1:]

	// Both stream names are six bytes long.
	if len(rest) < 6 {
		if len(rest) == 0 {
			return Line{}, errCRINoStream
		}
		return Line{}, errCRIStream
	}
	switch string(rest[:6]) { // no allocation: the compiler compares in place
	case "stdout":
		l.Stream = Stdout
	case "stderr":
		l.Stream = Stderr
	default:
		return Line{}, errCRIStream
	}
	if len(rest) == 6 {
		return Line{}, errCRINoTag
	}
	if rest[6] != ' ' {
		return Line{}, errCRIStream
	}
	rest = rest[7:]

	// The first tag decides; kubelet only ever looks at it too.
	tagEnd := bytes.IndexByte(rest, ' ')
	tag := rest
	if tagEnd >= 0 {
		tag = rest[:tagEnd]
	}
	if len(tag) == 0 {
		return Line{}, errCRINoTag
	}
	switch tag[0] {
	case 'P':
		l.Partial = true
	case 'F':
	default:
		return Line{}, errCRITag
	}
	if len(tag) > 1 && tag[1] != ':' {
		return Line{}, errCRITag
	}
	if tagEnd >= 0 {
		l.Body = rest[tagEnd+1:]
	} else {
		l.Body = rest[len(rest):] // empty message, no separator written
	}
	return l, nil
}
