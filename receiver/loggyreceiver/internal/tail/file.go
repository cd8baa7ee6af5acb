// Package tail reads one log file line by line, keeping track of the offset
// just past the last complete line so that reading can resume there.
package tail

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// defaultBufSize is the read size: large enough that syscalls are rare, small
// enough that hundreds of open files stay cheap.
const defaultBufSize = 64 << 10

// File is one open log file. It is not safe for concurrent use.
type File struct {
	f       *os.File
	path    string
	id      Identity
	bufSize int

	// buf[r:w] is the start of the current incomplete line, which begins at
	// offset. It holds no '\n'. While skipping, it is the first maxLine bytes of
	// an overlong line whose remaining bytes are being dropped.
	buf      []byte
	r, w     int
	skipping bool
	pos      int64 // file offset of the next read
	offset   int64 // just past the last complete line handed out
}

// Open opens path read-only and records its identity. The returned File reads
// from offset 0 until SetOffset.
func Open(path string) (*File, error) { return open(path, defaultBufSize) }

// open lets tests use a tiny buffer so that lines straddle reads.
func open(path string, bufSize int) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &File{f: f, path: path, id: IdentityOf(fi), bufSize: bufSize}, nil
}

// Path is the path the file was opened at (it may have been renamed since).
func (f *File) Path() string { return f.path }

// Identity is the device and inode of the open file.
func (f *File) Identity() Identity { return f.id }

// Offset is the file position just past the last complete line handed out (a
// partial trailing line is not counted).
func (f *File) Offset() int64 { return f.offset }

// SetOffset sets the read position (checkpoint resume, start_at end, or 0
// after a truncation) and drops buffered bytes. (Not named Seek: go vet wants
// Seek to have io.Seeker's signature.)
func (f *File) SetOffset(off int64) error {
	if _, err := f.f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	f.r, f.w, f.skipping = 0, 0, false
	f.pos, f.offset = off, off
	return nil
}

// Size is the current size from fstat on the open descriptor, so it works after
// the path was renamed or deleted.
func (f *File) Size() (int64, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Fingerprint returns up to n bytes from the start of the file. It uses ReadAt,
// so the read position does not move.
func (f *File) Fingerprint(n int) ([]byte, error) {
	b := make([]byte, n)
	k, err := f.f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:k], nil
}

// ReadLines reads about budget bytes (it may overshoot by one buffer) from the
// current position and calls fn for each complete line, without its '\n' (a
// '\r' before it is kept), with the file offset just past the '\n'.
//
// A line longer than maxLine is handed out once, cut to maxLine bytes, with
// tooLong set, when its '\n' is seen; the bytes beyond maxLine are dropped as
// they are read, so memory stays bounded by maxLine plus one read buffer.
//
// It returns the number of bytes read, and io.EOF once the end of the file is
// reached (normal: the caller tries again later). Other errors are read
// errors. The line slice is only valid during fn.
func (f *File) ReadLines(budget, maxLine int, fn func(line []byte, end int64, tooLong bool)) (int, error) {
	if maxLine <= 0 {
		maxLine = f.bufSize
	}
	total := 0
	for {
		f.makeRoom(maxLine)
		n, err := f.f.Read(f.buf[f.w:])
		if n > 0 {
			total += n
			f.split(n, maxLine, fn)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			f.release()
			return total, io.EOF
		}
		if err != nil {
			return total, err
		}
		if total >= budget {
			return total, nil
		}
	}
}

// makeRoom moves the incomplete line to the front of the buffer and makes sure
// at least half a buffer is free behind it, growing the buffer only as far as
// maxLine plus one buffer.
func (f *File) makeRoom(maxLine int) {
	if f.r > 0 {
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	if len(f.buf)-f.w >= f.bufSize/2 && len(f.buf) > f.w {
		return
	}
	size := max(2*len(f.buf), f.w+f.bufSize)
	size = min(size, max(maxLine, f.w)+f.bufSize)
	buf := make([]byte, size)
	copy(buf, f.buf[:f.w])
	f.buf = buf
}

// release drops a buffer that grew for a long line once nothing is pending, so
// an idle file holds at most one ordinary buffer.
func (f *File) release() {
	if f.r == f.w && len(f.buf) > f.bufSize {
		f.buf, f.r, f.w = nil, 0, 0
	}
}

// split hands out the complete lines among the n bytes just read into
// buf[w:w+n].
func (f *File) split(n, maxLine int, fn func(line []byte, end int64, tooLong bool)) {
	from := f.w // earlier bytes are known to hold no '\n'
	f.w += n
	f.pos += int64(n)
	for {
		i := bytes.IndexByte(f.buf[from:f.w], '\n')
		if i < 0 {
			break
		}
		nl := from + i
		end := f.pos - int64(f.w-nl-1)
		line, tooLong := f.buf[f.r:nl], f.skipping
		if len(line) > maxLine {
			line, tooLong = line[:maxLine], true
		}
		fn(line, end, tooLong)
		f.offset, f.skipping = end, false
		f.r, from = nl+1, nl+1
	}
	if f.r == f.w {
		f.r, f.w = 0, 0
	} else if f.w-f.r > maxLine {
		f.w, f.skipping = f.r+maxLine, true // keep the head, drop the rest
	}
}

// Rest hands out the bytes after the last complete line (a final line without
// '\n', e.g. the last output of a container) and moves Offset past them; it is
// for a file that is drained and about to be closed. An overlong rest is cut
// to maxLine of the last ReadLines. It returns false if there is none.
func (f *File) Rest(fn func(line []byte, end int64)) bool {
	if f.r == f.w {
		return false
	}
	fn(f.buf[f.r:f.w], f.pos)
	f.r, f.w, f.skipping = 0, 0, false
	f.offset = f.pos
	return true
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }
