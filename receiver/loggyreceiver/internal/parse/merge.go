package parse

// Record is a complete log message, partial lines joined.
type Record struct {
	Time      int64 // time of the first part
	Stream    Stream
	Body      []byte // valid until the next call on the Merger (and, for an unsplit line, the next Parse)
	Truncated bool   // Body was cut at the Merger's max size
}

// Merger joins the parts of lines the runtime split. stdout and stderr are
// joined independently because the runtime interleaves their lines freely;
// lines of an unknown stream get a third slot of their own.
type Merger struct {
	max     int
	streams [3]pending
}

// pending is the run of partial lines seen so far on one stream.
type pending struct {
	active    bool
	truncated bool
	time      int64
	buf       []byte
}

// NewMerger returns a Merger that cuts records at max bytes. max <= 0
// means no limit.
func NewMerger(max int) *Merger {
	return &Merger{max: max}
}

// Add takes one parsed line and returns a record when l completes one.
// A line that was never split is passed through without copying, so its
// Body aliases l.Body. A record longer than max is cut to max bytes with
// Truncated set; later parts are dropped until the final one, which keeps
// memory at most max bytes per stream.
func (m *Merger) Add(l Line) (Record, bool) {
	s := &m.streams[slot(l.Stream)]
	if !s.active {
		if !l.Partial {
			r := Record{Time: l.Time, Stream: l.Stream, Body: l.Body}
			if m.max > 0 && len(r.Body) > m.max {
				r.Body, r.Truncated = r.Body[:m.max], true
			}
			return r, true
		}
		s.active, s.truncated, s.time, s.buf = true, false, l.Time, s.buf[:0]
	}
	m.append(s, l.Body)
	if l.Partial {
		return Record{}, false
	}
	s.active = false
	return Record{Time: s.time, Stream: l.Stream, Body: s.buf, Truncated: s.truncated}, true
}

// append adds b to s.buf without letting the buffer grow past max.
func (m *Merger) append(s *pending, b []byte) {
	if m.max <= 0 {
		s.buf = append(s.buf, b...)
		return
	}
	room := m.max - len(s.buf)
	if len(b) > room {
		b, s.truncated = b[:room], true
	}
	if need := len(s.buf) + len(b); need > cap(s.buf) {
		// Grow by doubling as append would, but never beyond max.
		c := min(max(2*cap(s.buf), need, 256), m.max)
		nb := make([]byte, len(s.buf), c)
		copy(nb, s.buf)
		s.buf = nb
	}
	s.buf = append(s.buf, b...)
}

// Pending reports whether a partial line is buffered for any stream.
func (m *Merger) Pending() bool {
	return m.streams[0].active || m.streams[1].active || m.streams[2].active
}

// Flush emits each stream's buffered parts as a record (for a file that
// ended in the middle of a split line), then resets. Body is valid only
// during the call to emit.
func (m *Merger) Flush(emit func(Record)) {
	for i := range m.streams {
		s := &m.streams[i]
		if s.active {
			s.active = false
			emit(Record{Time: s.time, Stream: Stream(i), Body: s.buf, Truncated: s.truncated})
		}
	}
}

// Reset drops buffered parts, for a file that was truncated and is read
// again from the start. The buffers are kept for reuse.
func (m *Merger) Reset() {
	for i := range m.streams {
		m.streams[i].active = false
	}
}

// slot maps a stream to its index; values out of range share the unknown
// slot rather than panic.
func slot(s Stream) int {
	if s > Stderr {
		return int(StreamUnknown)
	}
	return int(s)
}
