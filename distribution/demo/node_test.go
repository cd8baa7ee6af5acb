package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestContainerLayoutAndFormats(t *testing.T) {
	root := t.TempDir()
	cri, err := newContainer(root, "default", "counter", "count", 0, formatCRI)
	if err != nil {
		t.Fatal(err)
	}
	docker, err := newContainer(root, "shop", "web", "nginx", 3, formatDocker)
	if err != nil {
		t.Fatal(err)
	}

	// The /var/log/containers symlink leads to the pod's file, as kubelet makes it.
	link := filepath.Join(root, "var", "log", "containers", "web_shop_nginx-"+docker.ID+".log")
	target, err := os.Readlink(link)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, "var", "log", "pods", "shop_web_"+docker.UID, "nginx", "3.log")
	if target != want {
		t.Fatalf("symlink target %s, want %s", target, want)
	}

	long := strings.Repeat("x", maxLineLen+10)
	for _, c := range []*container{cri, docker} {
		if err := c.Write("stdout", "hello"); err != nil {
			t.Fatal(err)
		}
		if err := c.Write("stderr", long); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}

	lines := readLines(t, cri.path())
	if len(lines) != 3 {
		t.Fatalf("CRI file has %d lines, want 3 (one, then a split in P and F): %.100q", len(lines), lines)
	}
	for i, tc := range []struct{ stream, tag, text string }{
		{"stdout", "F", "hello"}, {"stderr", "P", long[:maxLineLen]}, {"stderr", "F", long[maxLineLen:]},
	} {
		f := strings.SplitN(lines[i], " ", 4)
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil || f[1] != tc.stream || f[2] != tc.tag || f[3] != tc.text {
			t.Errorf("CRI line %d = %.80q, want %s %s %.20q", i, lines[i], tc.stream, tc.tag, tc.text)
		}
	}

	lines = readLines(t, docker.path())
	if len(lines) != 3 {
		t.Fatalf("docker file has %d lines, want 3", len(lines))
	}
	var got string
	for i, l := range lines {
		var e struct{ Log, Stream, Time string }
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			t.Error(err)
		}
		if i == 0 && (e.Log != "hello\n" || e.Stream != "stdout") {
			t.Errorf("docker line 0 = %q", l)
		}
		if i > 0 {
			got += e.Log
		}
	}
	if got != long+"\n" {
		t.Errorf("docker split line does not join back to the text")
	}
}

func TestRotateLikeKubelet(t *testing.T) {
	c, err := newContainer(t.TempDir(), "default", "counter", "count", 0, formatCRI)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const maxFiles = 3
	for i := range 4 {
		if err := c.Write("stdout", "line before rotation"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rotate(maxFiles); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			time.Sleep(1100 * time.Millisecond) // rotated names carry the second
		}
	}
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// maxFiles in all: the live file, the newest rotated one still plain, older ones gzipped.
	if len(names) != maxFiles {
		t.Fatalf("files %v, want %d", names, maxFiles)
	}
	if names[0] != "0.log" || !strings.HasSuffix(names[1], ".gz") || strings.HasSuffix(names[2], ".gz") {
		t.Fatalf("files %v, want 0.log, 0.log.<time>.gz, 0.log.<time>", names)
	}
	if fi, err := os.Stat(filepath.Join(c.dir, "0.log")); err != nil || fi.Size() != 0 {
		t.Fatalf("new live file: %v, %v", fi, err)
	}
	f, err := os.Open(filepath.Join(c.dir, names[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(b), " stdout F line before rotation\n") {
		t.Fatalf("gzipped file: %q, %v", b, err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
