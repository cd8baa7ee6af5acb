// Package multiline joins the lines of a stack trace (Java, Python, Go,
// Node.js, Ruby) that a container printed one by one into one record.
package multiline

import (
	"bytes"
	"time"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
)

// Joiner joins traces per stream of one container file. Only a line that can
// start a trace (a trace header, or a line at level ERROR or FATAL, which a
// logger may follow with the exception) is held back, until a line that does
// not continue it arrives or the timeout passes; every other line passes
// straight through.
type Joiner struct {
	max     int
	timeout time.Duration
	held    [3]held // by stream
}

type held struct {
	rec    parse.Record
	buf    []byte
	lines  int
	python bool // a Python traceback: its last line is "SomeError: ..." unindented
	ended  bool // that last line came; only a chained traceback may follow
	last   time.Time
}

// New returns a Joiner for records of at most max bytes.
func New(max int, timeout time.Duration) *Joiner {
	return &Joiner{max: max, timeout: timeout}
}

// Add takes one record (its Body is only valid during the call) and emits the
// records that are complete.
func (j *Joiner) Add(rec parse.Record, now time.Time, emit func(parse.Record)) {
	h := &j.held[rec.Stream%3]
	if h.lines > 0 {
		if h.continues(rec.Body) {
			h.append(rec, j.max, now)
			return
		}
		h.emit(emit)
	}
	if starts(rec.Body) {
		h.start(rec, now)
		return
	}
	emit(rec)
}

// Expire emits what has waited longer than the timeout for a continuation.
func (j *Joiner) Expire(now time.Time, emit func(parse.Record)) {
	for i := range j.held {
		if h := &j.held[i]; h.lines > 0 && now.Sub(h.last) >= j.timeout {
			h.emit(emit)
		}
	}
}

// Flush emits everything held (the file is closing).
func (j *Joiner) Flush(emit func(parse.Record)) {
	for i := range j.held {
		if j.held[i].lines > 0 {
			j.held[i].emit(emit)
		}
	}
}

// Pending reports whether a record is held.
func (j *Joiner) Pending() bool {
	return j.held[0].lines > 0 || j.held[1].lines > 0 || j.held[2].lines > 0
}

// Next is when Expire has something to do; zero if nothing is held.
func (j *Joiner) Next() time.Time {
	var next time.Time
	for i := range j.held {
		if h := &j.held[i]; h.lines > 0 {
			if t := h.last.Add(j.timeout); next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	return next
}

func (h *held) start(rec parse.Record, now time.Time) {
	h.rec, h.lines, h.last, h.ended = rec, 1, now, false
	h.buf = append(h.buf[:0], rec.Body...)
	h.python = bytes.HasPrefix(rec.Body, []byte("Traceback (most recent call last):"))
}

func (h *held) append(rec parse.Record, max int, now time.Time) {
	h.lines++
	h.last = now
	if bytes.HasPrefix(rec.Body, []byte("Traceback (most recent call last):")) {
		h.python, h.ended = true, false
	} else if h.python && !indented(rec.Body) && exceptionLine(rec.Body) {
		h.ended = true
	}
	if len(h.buf) >= max {
		h.rec.Truncated = true
		return
	}
	h.buf = append(h.buf, '\n')
	h.buf = append(h.buf, rec.Body...)
	if len(h.buf) > max {
		h.buf, h.rec.Truncated = h.buf[:max], true
	}
	h.rec.Truncated = h.rec.Truncated || rec.Truncated
}

func (h *held) emit(emit func(parse.Record)) {
	rec := h.rec
	rec.Body = h.buf
	h.lines = 0
	emit(rec)
}

// continues tells whether line belongs to the held trace.
func (h *held) continues(line []byte) bool {
	if h.ended {
		// A Python traceback ended; only a chained one goes on.
		return len(bytes.TrimSpace(line)) == 0 ||
			bytes.HasPrefix(line, []byte("During handling of the above exception")) ||
			bytes.HasPrefix(line, []byte("The above exception was the direct cause")) ||
			bytes.HasPrefix(line, []byte("Traceback (most recent call last):"))
	}
	switch {
	case indented(line): // Java/Node "at ...", Python frames, Go "\t/file.go:12", Ruby "from ..."
		return true
	case h.python:
		return exceptionLine(line) || len(bytes.TrimSpace(line)) == 0 ||
			bytes.HasPrefix(line, []byte("During handling")) || bytes.HasPrefix(line, []byte("The above exception"))
	}
	for _, p := range continuations {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return true // Go separates goroutines with blank lines
	}
	// The exception line under a logger's ERROR line, and Go's frame lines
	// ("main.main()", "panic({0x4a5b2c, 0xc000012345})").
	return (h.lines == 1 && exceptionLine(line)) || goFrame(line)
}

var continuations = [][]byte{
	[]byte("Caused by: "), []byte("Suppressed: "), []byte("goroutine "), []byte("created by "),
	[]byte("[signal "), []byte("exit status "), []byte("panic: "), []byte("fatal error: "),
}

// starts tells whether a line may begin a trace.
func starts(line []byte) bool {
	for _, p := range heads {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	if exceptionLine(line) || bytes.Contains(line, []byte(":in `")) {
		return true // Java/Node "pkg.SomeException: msg", Ruby "app.rb:3:in `m': msg (Error)"
	}
	lvl := parse.DetectLevel(line)
	return lvl == parse.LevelError || lvl == parse.LevelFatal
}

var heads = [][]byte{
	[]byte("Traceback (most recent call last):"), []byte("panic: "), []byte("fatal error: "),
	[]byte("goroutine "), []byte("Exception in thread "),
}

func indented(line []byte) bool { return len(line) > 0 && (line[0] == ' ' || line[0] == '\t') }

// exceptionLine matches "Name: message" or "Name" where Name is a (dotted)
// identifier ending in Exception, Error or Throwable.
func exceptionLine(line []byte) bool {
	end := bytes.IndexByte(line, ':')
	if end < 0 {
		end = len(line)
	}
	name := line[:end]
	if len(name) == 0 || bytes.IndexByte(name, ' ') >= 0 {
		return false
	}
	return bytes.HasSuffix(name, []byte("Exception")) || bytes.HasSuffix(name, []byte("Error")) ||
		bytes.HasSuffix(name, []byte("Throwable"))
}

// goFrame matches a Go stack frame's function line: an identifier path
// followed by an argument list, with nothing after it.
func goFrame(line []byte) bool {
	open := bytes.IndexByte(line, '(')
	if open <= 0 || line[len(line)-1] != ')' || bytes.IndexByte(line[:open], ' ') >= 0 {
		return false
	}
	return bytes.IndexByte(line[:open], '.') > 0
}
