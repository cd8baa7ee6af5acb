package e2e

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	criio "github.com/containerd/containerd/pkg/cri/io"
)

// message is one log line as the application printed it, and what the
// collector must deliver for it.
type message struct {
	key    string // unique first word: <container>-<stream>-<seq>
	text   string
	stream string
	c      *container
	// times the record may carry: the runtime's timestamp; for a line the
	// runtime split, the timestamp of any of its parts.
	times []time.Time
}

// reopenWriter is the log file as a container runtime holds it: every Write
// goes to the current file; reopen switches to a new file at the same path
// (what kubelet asks the runtime to do after renaming the file). Each Write is
// one log line of the file format and is recorded.
type reopenWriter struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	written [][]byte
}

func openReopenWriter(path string) (*reopenWriter, error) {
	w := &reopenWriter{path: path}
	return w, w.open()
}

func (w *reopenWriter) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	w.f = f
	return nil
}

func (w *reopenWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, slices.Clone(p))
	return w.f.Write(p)
}

func (w *reopenWriter) reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.f.Close(); err != nil {
		return err
	}
	return w.open()
}

func (w *reopenWriter) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// container is one container of the test node: its log file under
// var/log/pods, its /var/log/containers symlink, and the writer of its
// runtime (containerd's CRI logger, or docker json-file lines).
type container struct {
	namespace, pod, uid, name string
	restart                   int
	id                        string
	format                    string // "cri" or "docker"

	w *reopenWriter
	// CRI: containerd's loggers for stdout and stderr, both writing to w.
	criOut, criErr io.WriteCloser
	criDone        []<-chan struct{}

	mu       sync.Mutex
	seq      int
	expected []*message // docker: filled while writing; CRI: parsed from w.written at the end
}

func newContainer(t *testing.T, root, namespace, pod, name string, restart int, format string) *container {
	t.Helper()
	c := &container{namespace: namespace, pod: pod, uid: newUID(), name: name, restart: restart,
		id: randomHex(32), format: format}
	dir := filepath.Join(root, "var", "log", "pods", namespace+"_"+pod+"_"+c.uid, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.w, err = openReopenWriter(filepath.Join(dir, fmt.Sprintf("%d.log", restart))); err != nil {
		t.Fatal(err)
	}
	links := filepath.Join(root, "var", "log", "containers")
	if err := os.MkdirAll(links, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(c.w.path, filepath.Join(links, fmt.Sprintf("%s_%s_%s-%s.log", pod, namespace, name, c.id))); err != nil {
		t.Fatal(err)
	}
	if format == "cri" {
		var outDone, errDone <-chan struct{}
		c.criOut, outDone = criio.NewCRILogger(c.w.path, c.w, criio.Stdout, 16*1024)
		c.criErr, errDone = criio.NewCRILogger(c.w.path, c.w, criio.Stderr, 16*1024)
		c.criDone = []<-chan struct{}{outDone, errDone}
	}
	return c
}

// print has the container print one line of size bytes (at least the key
// and a fixed text) on stream.
func (c *container) print(t *testing.T, stream string, size int) {
	t.Helper()
	c.mu.Lock()
	c.seq++
	key := fmt.Sprintf("%s-%s-%06d", c.name, stream, c.seq)
	c.mu.Unlock()
	text := key + ` "quoted" \back\slash tab	utf8 héllo ✓ ` + c.namespace
	if len(text) < size {
		text += " " + strings.Repeat(string(rune('a'+c.seq%26)), size-len(text)-1)
	}
	switch c.format {
	case "cri":
		w := c.criOut
		if stream == "stderr" {
			w = c.criErr
		}
		// The container's stdout/stderr pipe: containerd's logger stamps and splits.
		if _, err := io.WriteString(w, text+"\n"); err != nil {
			t.Fatal(err)
		}
	default:
		c.writeDocker(t, key, stream, text)
	}
}

// writeDocker writes text as dockerd's json-file driver does: entries of at
// most 16 KiB of text, only the last one ending in a newline, all with the
// timestamp the line was read at.
func (c *container) writeDocker(t *testing.T, key, stream, text string) {
	t.Helper()
	now := time.Now().UTC()
	rest := text + "\n"
	for rest != "" {
		part := rest[:min(len(rest), 16*1024)]
		rest = rest[len(part):]
		line, err := json.Marshal(map[string]string{"log": part, "stream": stream, "time": now.Format(time.RFC3339Nano)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.w.Write(append(line, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	c.expected = append(c.expected, &message{key: key, text: text, stream: stream, c: c, times: []time.Time{now}})
	c.mu.Unlock()
}

// finish stops the runtime's writers and, for CRI, derives the expected
// messages from the CRI lines containerd wrote (merging P parts with their F).
func (c *container) finish(t *testing.T) {
	t.Helper()
	if c.format == "cri" {
		_ = c.criOut.Close()
		_ = c.criErr.Close()
		for _, done := range c.criDone {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: containerd's CRI logger did not finish", c.name)
			}
		}
	}
	if err := c.w.close(); err != nil {
		t.Fatal(err)
	}
	if c.format != "cri" {
		return
	}
	pending := map[string]*message{} // stream -> message being assembled from P parts
	for _, raw := range c.w.written {
		line := strings.TrimSuffix(string(raw), "\n")
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 {
			t.Fatalf("%s: containerd wrote an unexpected CRI line %.200q", c.name, line)
		}
		ts, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			t.Fatalf("%s: CRI timestamp %q: %v", c.name, f[0], err)
		}
		m := pending[f[1]]
		if m == nil {
			m = &message{stream: f[1], c: c}
			pending[f[1]] = m
		}
		m.text += f[3]
		m.times = append(m.times, ts)
		if f[2] == "F" {
			m.key, _, _ = strings.Cut(m.text, " ")
			c.expected = append(c.expected, m)
			delete(pending, f[1])
		}
	}
	if len(pending) != 0 {
		t.Fatalf("%s: containerd left partial lines without their F part", c.name)
	}
}

// rotate does what kubelet's container log manager does when the file is
// over containerLogMaxSize: delete the oldest rotated files so at most
// maxFiles remain, gzip the plain rotated ones (the newest rotated file stays
// plain), rename the live file to <file>.<YYYYMMDD-HHMMSS> and have the
// runtime reopen it.
func (c *container) rotate(t *testing.T, maxFiles int) {
	t.Helper()
	live := c.w.path
	rotated, err := filepath.Glob(live + ".*")
	if err != nil {
		t.Fatal(err)
	}
	rotated = slices.DeleteFunc(rotated, func(p string) bool { return strings.HasSuffix(p, ".tmp") })
	sort.Strings(rotated)
	for len(rotated) > maxFiles-2 {
		if err := os.Remove(rotated[0]); err != nil {
			t.Fatal(err)
		}
		rotated = rotated[1:]
	}
	for _, p := range rotated {
		if !strings.HasSuffix(p, ".gz") {
			gzipFile(t, p)
		}
	}
	var target string
	for {
		target = live + "." + time.Now().Format("20060102-150405")
		if _, err := os.Lstat(target); os.IsNotExist(err) {
			break
		}
		time.Sleep(100 * time.Millisecond) // rotated within this second already
	}
	if err := os.Rename(live, target); err != nil {
		t.Fatal(err)
	}
	if err := c.w.reopen(); err != nil {
		t.Fatal(err)
	}
}

func gzipFile(t *testing.T, p string) {
	t.Helper()
	in, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(p + ".gz.tmp")
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := zw.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".gz.tmp", p+".gz"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}
