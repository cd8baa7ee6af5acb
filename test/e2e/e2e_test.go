// Package e2e runs the built collector (bin/otelcol-loggy) against a real
// VictoriaLogs: container logs written by containerd's own CRI writer and as
// docker json-file lines, rotated like kubelet, must all arrive exactly once
// with their k8s attributes, stream and timestamp. `make test-e2e` builds
// and installs both binaries and passes their paths in LOGGY_COLLECTOR and
// LOGGY_VICTORIALOGS.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

const (
	nodeName = "e2e-node"
	maxFiles = 5 // kubelet containerLogMaxFiles
	// How long the collector gets to deliver everything after the last write.
	deliveryDeadline = 90 * time.Second
)

const collectorConfig = `
extensions:
  health_check:
    endpoint: 127.0.0.1:{{.HealthPort}}
  file_storage:
    directory: {{.Storage}}
receivers:
  loggy:
    include: [{{.Root}}/var/log/containers/*.log]
    exclude: []
    exclude_self: false
    start_at: beginning
    storage: file_storage
    log_roots: [{{.Root}}/var/log/pods]
    poll_interval: 250ms
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 1024
  resource:
    attributes:
      - key: k8s.node.name
        value: ` + nodeName + `
        action: upsert
exporters:
  otlp_http:
    logs_endpoint: http://127.0.0.1:{{.VLPort}}/insert/opentelemetry/v1/logs
    sending_queue:
      enabled: false # as in distribution/config.yaml: offsets follow the backend's answer
service:
  extensions: [health_check, file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [loggy]
      processors: [memory_limiter, resource]
      exporters: [otlp_http]
`

func binaryFromEnv(t *testing.T, name string) string {
	t.Helper()
	p := os.Getenv(name)
	if p == "" {
		t.Fatalf("%s is not set: run `make test-e2e`, which builds bin/otelcol-loggy, installs VictoriaLogs "+
			"into bin/tools and passes both paths (LOGGY_COLLECTOR, LOGGY_VICTORIALOGS)", name)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", name, p, err)
	}
	return p
}

func TestCollectorDeliversKubernetesLogsToVictoriaLogs(t *testing.T) {
	collectorBin := binaryFromEnv(t, "LOGGY_COLLECTOR")
	vlBin := binaryFromEnv(t, "LOGGY_VICTORIALOGS")
	tmp := t.TempDir()

	// VictoriaLogs on a free loopback port with its own data dir.
	vlPort := freePort(t)
	vlURL := fmt.Sprintf("http://127.0.0.1:%d", vlPort)
	vl := startProcess(t, "victoria-logs", filepath.Join(tmp, "victoria-logs.log"), vlBin,
		"-httpListenAddr=127.0.0.1:"+strconv.Itoa(vlPort),
		"-storageDataPath="+filepath.Join(tmp, "vl-data"),
		"-retentionPeriod=1d", "-loggerLevel=WARN")
	waitHTTP(t, vl, vlURL+"/health", 60*time.Second)

	// The node: one containerd container (CRI) and one dockerd container (json-file).
	root := filepath.Join(tmp, "node")
	cri := newContainer(t, root, "e2e-cri", "cri-writer-5b7d9c", "app", 0, "cri")
	docker := newContainer(t, root, "e2e-docker", "docker-writer-0", "web", 2, "docker")
	containers := []*container{cri, docker}

	cfgPath := filepath.Join(tmp, "collector.yaml")
	healthPort := freePort(t)
	writeConfig(t, cfgPath, collectorConfig, map[string]any{
		"Root": root, "Storage": mkdir(t, filepath.Join(tmp, "storage")), "VLPort": vlPort, "HealthPort": healthPort,
	})
	startCollector := func(n int) *process {
		p := startProcess(t, fmt.Sprintf("otelcol-loggy#%d", n), filepath.Join(tmp, fmt.Sprintf("collector-%d.log", n)),
			collectorBin, "--config", cfgPath)
		waitHTTP(t, p, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 60*time.Second)
		return p
	}

	// write prints n lines on each container: every 4th on stderr, one of each
	// size in sizes (keyed by line index) and the rest short; it rotates every
	// container after each rotateEvery lines (0: never).
	write := func(n, rotateEvery int, sizes map[int]int) {
		for i := range n {
			for _, c := range containers {
				stream := "stdout"
				if i%4 == 3 {
					stream = "stderr"
				}
				size := 120
				if s, ok := sizes[i]; ok {
					size = s
				}
				c.print(t, stream, size)
			}
			if rotateEvery > 0 && (i+1)%rotateEvery == 0 {
				for _, c := range containers {
					c.rotate(t, maxFiles)
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}

	// 1. Lines already there when the collector starts (start_at: beginning).
	write(100, 0, map[int]int{10: 40000})
	// 2. The collector runs while lines are written and rotated: long lines
	//    (containerd splits at 16 KiB into P/F parts, dockerd into several
	//    entries), the 16 KiB boundary, rotations with gzip and deletion.
	c1 := startCollector(1)
	write(1500, 250, map[int]int{7: 40000, 300: 16 * 1024, 301: 16*1024 + 1, 777: 100000, 1202: 20000})
	// 3. A restart: the checkpoints in file_storage make the new process
	//    resume where the old one stopped, with no line lost or repeated.
	c1.stop(t)
	write(300, 0, map[int]int{150: 33000})
	startCollector(2)
	write(700, 300, map[int]int{500: 50000})
	for _, c := range containers {
		c.finish(t)
	}
	writtenAt := time.Now()

	expected := map[string]*message{}
	for _, c := range containers {
		for _, m := range c.expected {
			if _, dup := expected[m.key]; dup {
				t.Fatalf("test bug: key %s written twice", m.key)
			}
			expected[m.key] = m
		}
	}
	t.Logf("wrote %d lines in %d containers (%d rotations each)", len(expected), len(containers), 1500/250+700/300)

	// Poll until every line arrived or the deadline passed; then once more
	// after a pause, so that late duplicates are seen too.
	var got []map[string]string
	for {
		got = queryAll(t, vlURL)
		if countKnown(got, expected) >= len(expected) || time.Since(writtenAt) > deliveryDeadline {
			break
		}
		time.Sleep(time.Second)
	}
	time.Sleep(3 * time.Second)
	got = queryAll(t, vlURL)
	t.Logf("VictoriaLogs holds %d records, %s after the last write", len(got), time.Since(writtenAt).Round(time.Second))
	verify(t, expected, got)
}

// verify checks that every expected line arrived exactly once, with its text,
// k8s attributes, stream and timestamp, and that nothing else arrived. It
// reports each kind of problem once, with how many records have it and a few
// examples.
func verify(t *testing.T, expected map[string]*message, got []map[string]string) {
	t.Helper()
	seen := map[string]int{}
	problems := map[string][]string{} // kind -> examples
	report := func(kind, format string, args ...any) {
		problems[kind] = append(problems[kind], fmt.Sprintf(format, args...))
	}
	for _, r := range got {
		msg := r["_msg"]
		key, _, _ := strings.Cut(msg, " ")
		m, ok := expected[key]
		if !ok {
			report("unexpected records (no such line was written)", "_msg %.120q (%d bytes), fields %v", msg, len(msg), withoutMsg(r))
			continue
		}
		seen[key]++
		if seen[key] > 1 {
			continue // reported below
		}
		if msg != m.text {
			report("body differs from the line written", "%s: got %d bytes %.60q...%.30q, want %d bytes %.60q...%.30q",
				key, len(msg), msg, tail(msg, 30), len(m.text), m.text, tail(m.text, 30))
		}
		want := map[string]string{
			"k8s.namespace.name":          m.c.namespace,
			"k8s.pod.name":                m.c.pod,
			"k8s.pod.uid":                 m.c.uid,
			"k8s.container.name":          m.c.name,
			"k8s.container.restart_count": strconv.Itoa(m.c.restart),
			"container.id":                m.c.id,
			"k8s.node.name":               nodeName,
			"log.iostream":                m.stream,
		}
		for field, v := range want {
			if r[field] != v {
				report("wrong "+field, "%s: got %q, want %q", key, r[field], v)
			}
		}
		ts, err := time.Parse(time.RFC3339Nano, r["_time"])
		if err != nil {
			report("unparsable _time", "%s: %q: %v", key, r["_time"], err)
		} else if !matchesAny(ts, m.times) {
			report("timestamp is not the runtime's", "%s: got %s, want %s", key, ts.Format(time.RFC3339Nano), formatTimes(m.times))
		}
	}
	var missing, dups []string
	for key := range expected {
		switch n := seen[key]; {
		case n == 0:
			missing = append(missing, key)
		case n > 1:
			dups = append(dups, fmt.Sprintf("%s x%d", key, n))
		}
	}
	sort.Strings(missing)
	sort.Strings(dups)
	if len(missing) > 0 {
		problems["lines never arrived"] = missing
	}
	if len(dups) > 0 {
		problems["lines arrived more than once"] = dups
	}
	if len(problems) == 0 {
		return
	}
	kinds := make([]string, 0, len(problems))
	for k := range problems {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "%d records received for %d lines written; problems:", len(got), len(expected))
	for _, k := range kinds {
		ex := problems[k]
		sort.Strings(ex)
		fmt.Fprintf(&b, "\n  %s: %d records, e.g.\n    %s", k, len(ex), abbreviate(ex, 8, "\n    "))
	}
	t.Error(b.String())
}

func countKnown(got []map[string]string, expected map[string]*message) int {
	seen := map[string]bool{}
	for _, r := range got {
		key, _, _ := strings.Cut(r["_msg"], " ")
		if expected[key] != nil {
			seen[key] = true
		}
	}
	return len(seen)
}

// queryAll flushes VictoriaLogs' buffers and returns every stored record.
func queryAll(t *testing.T, base string) []map[string]string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(base + "/internal/force_flush")
	if err != nil {
		t.Fatalf("VictoriaLogs force_flush: %v", err)
	}
	resp.Body.Close()
	resp, err = client.Get(base + "/select/logsql/query?" + url.Values{"query": {"*"}}.Encode())
	if err != nil {
		t.Fatalf("VictoriaLogs query: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Fatalf("VictoriaLogs query: %s: %s", resp.Status, b.String())
	}
	var out []map[string]string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		r := map[string]string{}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("VictoriaLogs query: bad JSON line %.200q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("VictoriaLogs query: %v", err)
	}
	return out
}

// process is a child process stopped by its PID when the test ends.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func startProcess(t *testing.T, name, logPath, bin string, args ...string) *process {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group (a Ctrl-C on `make` reaches only the test, which stops
	// its children by PID); SIGKILL from the kernel should the test die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Logf("started %s (pid %d), output in %s", name, cmd.Process.Pid, logPath)
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("last lines of %s output:\n%s", name, lastLines(logPath, 40))
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process by its PID, and SIGKILL if it has not
// exited 20 s later. Stopping a stopped process does nothing.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		t.Logf("stopped %s (pid %d)", p.name, p.cmd.Process.Pid)
		return
	case <-time.After(20 * time.Second):
	}
	t.Errorf("%s (pid %d) did not exit 20s after SIGTERM; killing it", p.name, p.cmd.Process.Pid)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitHTTP waits until url answers 200, failing early when p exits.
func waitHTTP(t *testing.T, p *process, url string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			t.Fatalf("%s exited before it was ready (%v); output:\n%s", p.name, p.err, lastLines(p.logPath, 40))
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s after %s (last error %v); output:\n%s", p.name, url, timeout, err, lastLines(p.logPath, 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeConfig(t *testing.T, path, tmpl string, data map[string]any) {
	t.Helper()
	var b bytes.Buffer
	if err := template.Must(template.New("config").Parse(tmpl)).Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "..."
		}
	}
	return strings.Join(lines, "\n")
}

func matchesAny(ts time.Time, times []time.Time) bool {
	for _, w := range times {
		if ts.Equal(w) {
			return true
		}
	}
	return false
}

func formatTimes(times []time.Time) string {
	s := make([]string, len(times))
	for i, tm := range times {
		s[i] = tm.UTC().Format(time.RFC3339Nano)
	}
	if len(s) == 1 {
		return s[0]
	}
	return "one of " + strings.Join(s, ", ")
}

func withoutMsg(r map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range r {
		if k != "_msg" {
			out[k] = v
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func abbreviate(s []string, n int, sep string) string {
	if len(s) <= n {
		return strings.Join(s, sep)
	}
	return strings.Join(s[:n], sep) + fmt.Sprintf("%s... (%d more)", sep, len(s)-n)
}
