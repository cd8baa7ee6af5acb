package main

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
	"time"
)

// Formats a container runtime writes its log files in.
const (
	formatCRI    = "cri"    // containerd, CRI-O: "<time> <stream> <P|F> <text>"
	formatDocker = "docker" // dockerd json-file: {"log":..,"stream":..,"time":..}
)

// maxLineLen is where runtimes split long lines: containerd writes "P" parts,
// dockerd writes entries whose "log" does not end in a newline.
const maxLineLen = 16 * 1024

// rotatedTimeFormat is the suffix kubelet appends to a rotated log file.
const rotatedTimeFormat = "20060102-150405"

// container is one container's log file in the demo node tree, written the way
// its runtime would and rotated the way kubelet does.
type container struct {
	Namespace, Pod, UID, Name string
	Restart                   int
	ID                        string // 64 hex digits, as in the /var/log/containers name
	Format                    string

	dir  string // <root>/var/log/pods/<ns>_<pod>_<uid>/<name>
	mu   sync.Mutex
	file *os.File
	size int64
}

// newContainer creates the pod directory, the log file and the
// /var/log/containers symlink for one container under root.
func newContainer(root, namespace, pod, name string, restart int, format string) (*container, error) {
	c := &container{
		Namespace: namespace, Pod: pod, Name: name, Restart: restart, Format: format,
		UID: newUID(), ID: randomHex(32),
	}
	c.dir = filepath.Join(root, "var", "log", "pods", fmt.Sprintf("%s_%s_%s", namespace, pod, c.UID), name)
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	if err := c.open(); err != nil {
		return nil, err
	}
	links := filepath.Join(root, "var", "log", "containers")
	if err := os.MkdirAll(links, 0o755); err != nil {
		return nil, err
	}
	link := filepath.Join(links, fmt.Sprintf("%s_%s_%s-%s.log", pod, namespace, name, c.ID))
	if err := os.Symlink(c.path(), link); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *container) path() string {
	return filepath.Join(c.dir, fmt.Sprintf("%d.log", c.Restart))
}

func (c *container) open() error {
	f, err := os.OpenFile(c.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	c.file, c.size = f, 0
	return nil
}

// Write logs one line of text on a stream ("stdout" or "stderr") in the
// container's format, split at 16 KiB like the runtimes do.
func (c *container) Write(stream, text string) error {
	now := time.Now()
	var buf []byte
	for first := true; first || text != ""; first = false {
		part, last := text, true
		if len(part) > maxLineLen {
			part, last = text[:maxLineLen], false
		}
		text = text[len(part):]
		switch c.Format {
		case formatCRI:
			tag := "F"
			if !last {
				tag = "P"
			}
			buf = fmt.Appendf(buf, "%s %s %s %s\n", now.Format(time.RFC3339Nano), stream, tag, part)
		default:
			if last {
				part += "\n"
			}
			entry, err := json.Marshal(struct {
				Log    string `json:"log"`
				Stream string `json:"stream"`
				Time   string `json:"time"`
			}{part, stream, now.UTC().Format(time.RFC3339Nano)})
			if err != nil {
				return err
			}
			buf = append(append(buf, entry...), '\n')
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.file.Write(buf)
	c.size += int64(n)
	return err
}

// Size is the number of bytes written to the current log file.
func (c *container) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// Rotate does what kubelet does when a log file is over its size limit: delete
// the oldest rotated files so that at most maxFiles remain after the rotation,
// gzip the plain rotated files (the newest rotated file stays plain until the
// next rotation), rename the live file to <file>.<YYYYMMDD-HHMMSS> (same inode)
// and have the runtime reopen, which creates a new live file.
func (c *container) Rotate(maxFiles int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.path()
	rotated, err := filepath.Glob(live + ".*")
	if err != nil {
		return err
	}
	rotated = slices.DeleteFunc(rotated, func(p string) bool { return strings.HasSuffix(p, ".tmp") })
	sort.Strings(rotated) // the timestamp suffix sorts oldest first
	for len(rotated) > maxFiles-2 {
		if err := os.Remove(rotated[0]); err != nil {
			return err
		}
		rotated = rotated[1:]
	}
	for _, p := range rotated {
		if !strings.HasSuffix(p, ".gz") {
			if err := gzipFile(p); err != nil {
				return err
			}
		}
	}
	target := live + "." + time.Now().Format(rotatedTimeFormat)
	if _, err := os.Lstat(target); err == nil {
		return nil // rotated within this second already; kubelet would wait as well
	}
	if err := os.Rename(live, target); err != nil {
		return err
	}
	// The runtime keeps writing to the renamed file until it reopens.
	if err := c.file.Close(); err != nil {
		return err
	}
	return c.open()
}

// Close closes the live log file.
func (c *container) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.file.Close()
}

// gzipFile compresses p to p.gz through a temporary file, then removes p.
func gzipFile(p string) error {
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := p + ".gz.tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p+".gz"); err != nil {
		return err
	}
	return os.Remove(p)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// newUID returns a random RFC 4122 version 4 UUID, the shape of a pod UID.
func newUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
