package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// manifest describes a generated node, so each contender knows when it is done.
type manifest struct {
	Files    int   `json:"files"`
	Bytes    int64 `json:"bytes"`
	Records  int64 `json:"records"`  // log messages, split lines joined (what loggy and filelog emit)
	Physical int64 `json:"physical"` // lines in the files (what a line-by-line reader sees)
	Seed     uint64
}

// generate writes a node tree under dir: files log files, half CRI and half
// docker json-file, of realistic bodies, size bytes in all. It is skipped when
// a manifest for the same parameters is already there.
func generate(dir string, files int, size int64) (manifest, error) {
	want := manifest{Files: files, Seed: 42}
	mpath := filepath.Join(dir, "manifest.json")
	if b, err := os.ReadFile(mpath); err == nil {
		var have manifest
		if json.Unmarshal(b, &have) == nil && have.Files == files && have.Bytes >= size && have.Bytes < size+size/10+(1<<20) {
			return have, nil
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "var")); err != nil {
		return want, err
	}
	rng := rand.New(rand.NewPCG(want.Seed, 1))
	per := size / int64(files)
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := range files {
		ns, pod, ctr := fmt.Sprintf("bench-%02d", i%7), fmt.Sprintf("app-%03d-7d4b9c-x2x9q", i), "app"
		uid := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		pdir := filepath.Join(dir, "var/log/pods", ns+"_"+pod+"_"+uid, ctr)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return want, err
		}
		links := filepath.Join(dir, "var/log/containers")
		if err := os.MkdirAll(links, 0o755); err != nil {
			return want, err
		}
		path := filepath.Join(pdir, "0.log")
		id := strings.Repeat(fmt.Sprintf("%x", i%16), 64)
		if err := os.Symlink(path, filepath.Join(links, pod+"_"+ns+"_"+ctr+"-"+id+".log")); err != nil {
			return want, err
		}
		f, err := os.Create(path)
		if err != nil {
			return want, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		cri := i%2 == 0
		var written int64
		for n := 0; written < per; n++ {
			ts := start.Add(time.Duration(n) * time.Millisecond)
			stream := "stdout"
			if rng.IntN(10) == 0 {
				stream = "stderr"
			}
			msg := body(rng, n)
			want.Records++
			var b int
			var lines int64
			if cri {
				b, lines = writeCRI(w, ts, stream, msg)
			} else {
				b, lines = writeDocker(w, ts, stream, msg)
			}
			written += int64(b)
			want.Physical += lines
		}
		want.Bytes += written
		if err := w.Flush(); err != nil {
			return want, err
		}
		if err := f.Close(); err != nil {
			return want, err
		}
	}
	b, _ := json.Marshal(want)
	return want, os.WriteFile(mpath, b, 0o644)
}

var words = strings.Fields("order payment cart user session request upstream cache miss hit retry timeout db query shard node pod ready healthy GET POST PUT /api/v1/orders /healthz /metrics")

// body is one application log line: access logs, JSON app logs, plain text,
// and now and then a long line that the runtime splits.
func body(rng *rand.Rand, n int) string {
	switch r := rng.IntN(1000); {
	case r < 400:
		return fmt.Sprintf(`10.42.%d.%d - - [24/Nov/2026:10:15:%02d +0000] "GET /api/v1/orders/%d HTTP/1.1" 200 %d "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
			rng.IntN(255), rng.IntN(255), n%60, rng.IntN(100000), rng.IntN(5000))
	case r < 700:
		return fmt.Sprintf(`{"level":"info","ts":"2026-11-24T10:15:%02d.%03dZ","msg":"%s %s","trace_id":"%032x","user":%d,"latency_ms":%d}`,
			n%60, n%1000, words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.Uint64(), rng.IntN(1e6), rng.IntN(900))
	case r < 995:
		var sb strings.Builder
		for range 8 + rng.IntN(20) {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(' ')
		}
		return fmt.Sprintf("I1124 10:15:%02d.%06d 1 controller.go:%d] %s", n%60, n%1000000, rng.IntN(900), sb.String())
	default:
		return "payload dump: " + strings.Repeat("abcdefghij", 1700+rng.IntN(3000)) // 17-47 KB, split
	}
}

// writeCRI writes msg as containerd does: parts of at most 16 KiB, P then F.
func writeCRI(w *bufio.Writer, ts time.Time, stream, msg string) (int, int64) {
	t := ts.Format(time.RFC3339Nano)
	n, lines := 0, int64(0)
	for {
		part, tag := msg, "F"
		if len(msg) > 16384 {
			part, tag = msg[:16384], "P"
		}
		k, _ := fmt.Fprintf(w, "%s %s %s %s\n", t, stream, tag, part)
		n, lines = n+k, lines+1
		msg = msg[len(part):]
		if tag == "F" {
			return n, lines
		}
	}
}

// writeDocker writes msg as dockerd's json-file driver does: entries of at
// most 16 KiB, only the last ending in "\n".
func writeDocker(w *bufio.Writer, ts time.Time, stream, msg string) (int, int64) {
	t := ts.Format(time.RFC3339Nano)
	rest := msg + "\n"
	n, lines := 0, int64(0)
	for rest != "" {
		part := rest[:min(len(rest), 16384)]
		rest = rest[len(part):]
		b, _ := json.Marshal(struct {
			Log    string `json:"log"`
			Stream string `json:"stream"`
			Time   string `json:"time"`
		}{part, stream, t})
		k, _ := w.Write(append(b, '\n'))
		n, lines = n+k, lines+1
	}
	return n, lines
}
