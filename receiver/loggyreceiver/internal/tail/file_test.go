package tail

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type got struct {
	line    string
	end     int64
	tooLong bool
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func appendFile(t *testing.T, p, content string) {
	t.Helper()
	w, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t *testing.T, p string, bufSize int) *File {
	t.Helper()
	f, err := open(p, bufSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// readAll reads until io.EOF and checks that Offset always equals the end of
// the last line handed out.
func readAll(t *testing.T, f *File, budget, maxLine int) []got {
	t.Helper()
	var out []got
	for {
		n, err := f.ReadLines(budget, maxLine, func(line []byte, end int64, tooLong bool) {
			out = append(out, got{string(line), end, tooLong})
		})
		if len(out) > 0 && f.Offset() != out[len(out)-1].end {
			t.Fatalf("Offset %d, last end %d", f.Offset(), out[len(out)-1].end)
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("no progress without EOF")
		}
	}
}

// expect is what a file's content should give, computed the slow way.
func expect(content string, maxLine int) []got {
	var out []got
	var off int64
	for {
		i := strings.IndexByte(content, '\n')
		if i < 0 {
			return out
		}
		line, long := content[:i], false
		if len(line) > maxLine {
			line, long = line[:maxLine], true
		}
		off += int64(i) + 1
		out = append(out, got{line, off, long})
		content = content[i+1:]
	}
}

func equal(a, b []got) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadLines(t *testing.T) {
	huge := strings.Repeat("x", 300)
	tests := []struct {
		name    string
		content string
		maxLine int
		rest    string // expected Rest line, "" for none
	}{
		{name: "simple", content: "a\nbb\nccc\n", maxLine: 100},
		{name: "empty file", content: "", maxLine: 100},
		{name: "empty lines", content: "\n\na\n\n", maxLine: 100},
		{name: "crlf kept", content: "a\r\nb\r\n", maxLine: 100},
		{name: "no trailing newline", content: "a\nbb\nlast", maxLine: 100, rest: "last"},
		{name: "only partial", content: "partial", maxLine: 100, rest: "partial"},
		{name: "exactly maxLine", content: "12345\nabc\n", maxLine: 5},
		{name: "one over maxLine", content: "123456\nabc\n", maxLine: 5},
		{name: "huge then normal", content: huge + "\nnext\n", maxLine: 10},
		{name: "two huge", content: huge + "\n" + huge + "y\nz\n", maxLine: 7},
		{name: "huge partial rest", content: "a\n" + huge, maxLine: 10, rest: huge[:10]},
		{name: "maxLine zero uses buffer", content: "abc\n", maxLine: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.content)
			ml := tt.maxLine
			// Every buffer size from 1 byte up puts the read boundaries at every
			// position of every line.
			for bufSize := 1; bufSize <= len(tt.content)+2; bufSize++ {
				for _, budget := range []int{1, 7, 1 << 20} {
					f := mustOpen(t, p, bufSize)
					if ml == 0 {
						ml = bufSize
					}
					lines := readAll(t, f, budget, tt.maxLine)
					want := expect(tt.content, ml)
					if !equal(lines, want) {
						t.Fatalf("buf %d budget %d:\n got %+v\nwant %+v", bufSize, budget, lines, want)
					}
					var rest string
					ok := f.Rest(func(line []byte, end int64) {
						rest = string(line)
						if end != int64(len(tt.content)) {
							t.Fatalf("rest end %d, want %d", end, len(tt.content))
						}
					})
					if ok != (tt.rest != "") || rest != tt.rest {
						t.Fatalf("buf %d: Rest = %v %q, want %q", bufSize, ok, rest, tt.rest)
					}
					if f.Offset() != int64(len(tt.content)) && tt.rest != "" {
						t.Fatalf("Offset after Rest %d", f.Offset())
					}
					if f.Rest(func([]byte, int64) {}) {
						t.Fatal("second Rest handed out again")
					}
					ml = tt.maxLine
				}
			}
		})
	}
}

func TestBudget(t *testing.T) {
	content := strings.Repeat("0123456789\n", 100)
	f := mustOpen(t, writeFile(t, content), 16)
	n, err := f.ReadLines(50, 100, func([]byte, int64, bool) {})
	if err != nil || n < 50 || n > 50+16 {
		t.Fatalf("n %d err %v", n, err)
	}
}

// A stream without newlines must not grow the buffer beyond maxLine plus one
// read buffer, and the line after it must come out intact.
func TestJunkBoundedMemory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junk.log")
	w, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte{0, 0xff, 'a', '\r'}, 1<<16) // 256 KiB, no '\n'
	for range 64 {                                          // 16 MiB
		if _, err := w.Write(junk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.WriteString("\nafter\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()

	const bufSize, maxLine = 4 << 10, 10 << 10
	f := mustOpen(t, p, bufSize)
	var lines []got
	maxCap := 0
	for {
		_, err := f.ReadLines(64<<10, maxLine, func(line []byte, end int64, tooLong bool) {
			lines = append(lines, got{string(line), end, tooLong})
		})
		maxCap = max(maxCap, cap(f.buf))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if maxCap > maxLine+bufSize {
		t.Fatalf("buffer grew to %d, bound %d", maxCap, maxLine+bufSize)
	}
	size := int64(64 * len(junk))
	want := []got{
		{string(junk[:maxLine]), size + 1, true},
		{"after", size + 7, false},
	}
	if !equal(lines, want) {
		t.Fatalf("got %d lines: %+v", len(lines), lines[len(lines)-1])
	}
	if cap(f.buf) > bufSize {
		t.Fatalf("grown buffer kept at EOF: %d", cap(f.buf))
	}
}

func TestGrowAndResume(t *testing.T) {
	p := writeFile(t, "one\ntw")
	f := mustOpen(t, p, 4)
	lines := readAll(t, f, 1<<20, 100)
	if !equal(lines, []got{{"one", 4, false}}) || f.Offset() != 4 {
		t.Fatalf("%v offset %d", lines, f.Offset())
	}
	appendFile(t, p, "o\nthree\n")
	lines = readAll(t, f, 1<<20, 100)
	if !equal(lines, []got{{"two", 8, false}, {"three", 14, false}}) || f.Offset() != 14 {
		t.Fatalf("%v offset %d", lines, f.Offset())
	}
	if lines = readAll(t, f, 1<<20, 100); len(lines) != 0 {
		t.Fatalf("read again: %v", lines)
	}
}

func TestSetOffset(t *testing.T) {
	p := writeFile(t, "aaa\nbbb\nccc\n")
	f := mustOpen(t, p, 5)
	// Leave a partial line buffered, then seek: it must be dropped.
	if _, err := f.ReadLines(1, 100, func([]byte, int64, bool) {}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetOffset(4); err != nil {
		t.Fatal(err)
	}
	if f.Offset() != 4 {
		t.Fatalf("Offset %d", f.Offset())
	}
	lines := readAll(t, f, 1<<20, 100)
	if !equal(lines, []got{{"bbb", 8, false}, {"ccc", 12, false}}) {
		t.Fatalf("%v", lines)
	}
	if err := f.SetOffset(0); err != nil {
		t.Fatal(err)
	}
	if lines = readAll(t, f, 1<<20, 100); len(lines) != 3 || lines[0].line != "aaa" {
		t.Fatalf("%v", lines)
	}
	// At the end, as for start_at end.
	if err := f.SetOffset(12); err != nil {
		t.Fatal(err)
	}
	if lines = readAll(t, f, 1<<20, 100); len(lines) != 0 || f.Offset() != 12 {
		t.Fatalf("%v", lines)
	}
}

func TestTruncateAndRestart(t *testing.T) {
	p := writeFile(t, "old line\n")
	f := mustOpen(t, p, 64)
	readAll(t, f, 1<<20, 100)
	if err := os.WriteFile(p, []byte("new\n"), 0o600); err != nil { // truncates in place
		t.Fatal(err)
	}
	if size, _ := f.Size(); size >= f.Offset() {
		t.Fatalf("size %d offset %d", size, f.Offset())
	}
	if err := f.SetOffset(0); err != nil {
		t.Fatal(err)
	}
	if lines := readAll(t, f, 1<<20, 100); !equal(lines, []got{{"new", 4, false}}) {
		t.Fatalf("%v", lines)
	}
}

func TestSizeAfterRenameAndUnlink(t *testing.T) {
	p := writeFile(t, "12345\n")
	f := mustOpen(t, p, 64)
	id := f.Identity()
	if f.Path() != p {
		t.Fatal(f.Path())
	}
	rotated := p + ".20260101-000000"
	if err := os.Rename(p, rotated); err != nil {
		t.Fatal(err)
	}
	appendFile(t, rotated, "678\n")
	if size, err := f.Size(); err != nil || size != 10 {
		t.Fatalf("after rename: %d %v", size, err)
	}
	fi, err := os.Stat(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if IdentityOf(fi) != id || id == (Identity{}) {
		t.Fatalf("identity %v vs %v", IdentityOf(fi), id)
	}
	// A new file at the old path is a different file.
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); IdentityOf(fi) == id {
		t.Fatal("new file has the same identity")
	}
	if err := os.Remove(rotated); err != nil {
		t.Fatal(err)
	}
	if size, err := f.Size(); err != nil || size != 10 {
		t.Fatalf("after unlink: %d %v", size, err)
	}
	if lines := readAll(t, f, 1<<20, 100); len(lines) != 2 {
		t.Fatalf("reading unlinked file: %v", lines)
	}
}

func TestFingerprint(t *testing.T) {
	p := writeFile(t, "abcdef\nghi\n")
	f := mustOpen(t, p, 4)
	if _, err := f.ReadLines(1, 100, func([]byte, int64, bool) {}); err != nil {
		t.Fatal(err)
	}
	off := f.Offset()
	fp, err := f.Fingerprint(5)
	if err != nil || string(fp) != "abcde" {
		t.Fatalf("%q %v", fp, err)
	}
	fp, err = f.Fingerprint(1024)
	if err != nil || string(fp) != "abcdef\nghi\n" {
		t.Fatalf("short file: %q %v", fp, err)
	}
	if f.Offset() != off {
		t.Fatal("Fingerprint moved the offset")
	}
	// The read position is untouched: reading goes on where it was.
	lines := readAll(t, f, 1<<20, 100)
	if !equal(lines, []got{{"abcdef", 7, false}, {"ghi", 11, false}}) {
		t.Fatalf("%v", lines)
	}
	empty := mustOpen(t, writeFile(t, ""), 4)
	if fp, err := empty.Fingerprint(8); err != nil || len(fp) != 0 {
		t.Fatalf("empty: %q %v", fp, err)
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

func TestNoAllocsPerLine(t *testing.T) {
	p := writeFile(t, strings.Repeat(strings.Repeat("x", 199)+"\n", 5000))
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fn := func([]byte, int64, bool) {}
	f.ReadLines(1<<30, 1<<20, fn) // warm up the buffer
	allocs := testing.AllocsPerRun(10, func() {
		_ = f.SetOffset(0)
		_, _ = f.ReadLines(1<<30, 1<<20, fn)
	})
	if allocs > 0 {
		t.Fatalf("%v allocations per read of 5000 lines", allocs)
	}
}

func benchFile(b *testing.B) (string, int64) {
	line := strings.Repeat("a", 199) + "\n"
	p := writeFile(b, strings.Repeat(line, 50000)) // 10 MB
	return p, int64(len(line) * 50000)
}

func BenchmarkReadLines(b *testing.B) {
	p, size := benchFile(b)
	f, err := Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	lines := 0
	fn := func([]byte, int64, bool) { lines++ }
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		_ = f.SetOffset(0)
		for {
			if _, err := f.ReadLines(256<<10, 1<<20, fn); err != nil {
				break
			}
		}
	}
	if lines != 50000*b.N {
		b.Fatalf("lines %d", lines)
	}
}

// BenchmarkPlainRead is the floor ReadLines is measured against: read and
// count newlines.
func BenchmarkPlainRead(b *testing.B) {
	p, size := benchFile(b)
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, defaultBufSize)
	b.SetBytes(size)
	for b.Loop() {
		_, _ = f.Seek(0, io.SeekStart)
		lines := 0
		for {
			n, err := f.Read(buf)
			lines += bytes.Count(buf[:n], []byte{'\n'})
			if err != nil {
				break
			}
		}
		if lines != 50000 {
			b.Fatalf("lines %d", lines)
		}
	}
}
