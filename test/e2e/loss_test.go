package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// These tests try hard to make loggy lose lines: kill -9 at random moments,
// a backend that refuses for a while, rotation with gzip at full writer speed.
// The backend is an OTLP/HTTP sink in the test, so counting is exact.

const sinkBatch = 1000 // max_batch_size in sinkConfig: the most one kill may repeat

const sinkConfig = `
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
    max_batch_size: 1000
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 1024
exporters:
  otlp_http:
    logs_endpoint: http://127.0.0.1:{{.SinkPort}}/v1/logs
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: true
      initial_interval: 200ms
      max_interval: 1s
      max_elapsed_time: 10s
service:
  extensions: [health_check, file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [loggy]
      processors: [memory_limiter]
      exporters: [otlp_http]
`

// sink is an OTLP/HTTP logs endpoint that counts records by the first word of
// their body, and can be told to answer 503 as a backend in trouble does.
type sink struct {
	mu      sync.Mutex
	counts  map[string]int
	refuse  atomic.Bool
	refused atomic.Int64
}

func startSink(t *testing.T) (*sink, int) {
	t.Helper()
	s := &sink{counts: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s, l.Addr().(*net.TCPAddr).Port
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	if s.refuse.Load() {
		s.refused.Add(1)
		http.Error(w, "backend unavailable", http.StatusServiceUnavailable)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	rls := req.Logs().ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				key, _, _ := strings.Cut(recs.At(k).Body().Str(), " ")
				s.counts[key]++
			}
		}
	}
	s.mu.Unlock()
	resp, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// tally compares what arrived with what was written.
type tally struct {
	missing    []string
	duplicates int // extra copies, summed
	unknown    int // records that match no written line
	received   int
}

func (s *sink) tally(expected map[string]bool) tally {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r tally
	for key, n := range s.counts {
		r.received += n
		if !expected[key] {
			r.unknown += n
			continue
		}
		r.duplicates += n - 1
	}
	for key := range expected {
		if s.counts[key] == 0 {
			r.missing = append(r.missing, key)
		}
	}
	sort.Strings(r.missing)
	return r
}

// lossRig is a node, a sink and the collector's configuration.
type lossRig struct {
	t          *testing.T
	tmp, root  string
	bin, cfg   string
	healthPort int
	sink       *sink
	containers []*container
	runs       int
}

func newLossRig(t *testing.T, cri, docker int) *lossRig {
	r := &lossRig{t: t, tmp: t.TempDir(), bin: binaryFromEnv(t, "LOGGY_COLLECTOR")}
	r.root = filepath.Join(r.tmp, "node")
	var sinkPort int
	r.sink, sinkPort = startSink(t)
	r.healthPort = freePort(t)
	r.cfg = filepath.Join(r.tmp, "collector.yaml")
	writeConfig(t, r.cfg, sinkConfig, map[string]any{
		"Root": r.root, "Storage": mkdir(t, filepath.Join(r.tmp, "storage")),
		"SinkPort": sinkPort, "HealthPort": r.healthPort,
	})
	for i := range cri + docker {
		format, ns := "cri", "loss-cri"
		if i >= cri {
			format, ns = "docker", "loss-docker"
		}
		r.containers = append(r.containers, newContainer(t, r.root, ns, fmt.Sprintf("writer-%02d", i), fmt.Sprintf("c%02d", i), 0, format))
	}
	return r
}

func (r *lossRig) startCollector() *process {
	r.runs++
	p := startProcess(r.t, fmt.Sprintf("otelcol-loggy#%d", r.runs), filepath.Join(r.tmp, fmt.Sprintf("collector-%d.log", r.runs)),
		r.bin, "--config", r.cfg)
	waitHTTP(r.t, p, fmt.Sprintf("http://127.0.0.1:%d/", r.healthPort), 60*time.Second)
	return p
}

// rotateBig rotates, kubelet-style, every container whose live file is over max.
func (r *lossRig) rotateBig(max int64) int {
	n := 0
	for _, c := range r.containers {
		if fi, err := os.Stat(c.w.path); err == nil && fi.Size() > max {
			c.rotate(r.t, maxFiles)
			n++
		}
	}
	return n
}

// finish stops the writers and returns the keys of every line written.
func (r *lossRig) finish() map[string]bool {
	keys := map[string]bool{}
	for _, c := range r.containers {
		c.finish(r.t)
		for _, m := range c.expected {
			keys[m.key] = true
		}
	}
	return keys
}

// await waits until every written line arrived (or the deadline passed), then a
// little longer so that late duplicates are counted too.
func (r *lossRig) await(keys map[string]bool) tally {
	deadline := time.Now().Add(deliveryDeadline)
	for len(r.sink.tally(keys).missing) > 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	return r.sink.tally(keys)
}

func (r *lossRig) requireNoLoss(got tally, written int) {
	r.t.Helper()
	r.t.Logf("written %d lines, received %d records: %d missing, %d duplicates, %d unknown",
		written, got.received, len(got.missing), got.duplicates, got.unknown)
	if len(got.missing) > 0 {
		r.t.Errorf("%d lines lost, e.g. %s", len(got.missing), abbreviate(got.missing, 10, ", "))
	}
	if got.unknown > 0 {
		r.t.Errorf("%d records that match no written line", got.unknown)
	}
}

// kill sends SIGKILL: no shutdown, no last flush, no last commit.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
	t.Logf("killed %s (pid %d) with SIGKILL", p.name, p.cmd.Process.Pid)
}

func TestKill9WhileWritingAndRotating(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LOGGY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (LOGGY_SEED=%d reproduces the kill moments)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	r := newLossRig(t, 12, 10)
	const rounds = 10000 // 22 containers: 220k lines
	kills := map[int]bool{}
	for len(kills) < 4 {
		kills[1000+rng.IntN(rounds-2000)] = true
	}
	p := r.startCollector()
	rotations := 0
	for i := range rounds {
		for j, c := range r.containers {
			stream := "stdout"
			if (i+j)%5 == 4 {
				stream = "stderr"
			}
			size := 90 + rng.IntN(60)
			if rng.IntN(2000) == 0 {
				size = 20000 + rng.IntN(30000) // split by the runtime
			}
			c.print(t, stream, size)
		}
		if i%100 == 99 {
			rotations += r.rotateBig(256 << 10)
			time.Sleep(20 * time.Millisecond) // a steady rate: ~22k lines/s
		}
		if kills[i] {
			p.kill(t)
			p = r.startCollector()
		}
	}
	keys := r.finish()
	t.Logf("%d rotations, %d kills", rotations, len(kills))
	got := r.await(keys)
	r.requireNoLoss(got, len(keys))
	if limit := len(kills) * sinkBatch; got.duplicates > limit {
		t.Errorf("%d duplicates after %d kills: more than one batch (%d records) per kill", got.duplicates, len(kills), sinkBatch)
	}
	p.stop(t)
}

func TestBackendOutage(t *testing.T) {
	r := newLossRig(t, 3, 3)
	p := r.startCollector()
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if kb := vmRSSKiB(p.cmd.Process.Pid); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	var outageFrom, outageTo time.Time
	for i := 0; time.Since(start) < 30*time.Second; i++ {
		switch {
		case outageFrom.IsZero() && time.Since(start) > 5*time.Second:
			outageFrom = time.Now()
			r.sink.refuse.Store(true)
		case outageTo.IsZero() && !outageFrom.IsZero() && time.Since(outageFrom) > 20*time.Second:
			outageTo = time.Now()
			r.sink.refuse.Store(false)
		}
		for _, c := range r.containers {
			c.print(t, "stdout", 150)
		}
		// kubelet's defaults (10 MiB, 5 files) keep far more than this writes
		// during the outage: while the backend is down loggy reads nothing
		// more, and the node's log files are the buffer.
		if i%50 == 49 {
			r.rotateBig(10 << 20)
			time.Sleep(50 * time.Millisecond) // ~6k lines/s
		}
	}
	keys := r.finish()
	got := r.await(keys)
	close(stopSampling)
	<-sampled
	t.Logf("backend refused %d requests during %s; collector peak RSS %d MiB", r.sink.refused.Load(),
		outageTo.Sub(outageFrom).Round(time.Second), peak.Load()/1024)
	if r.sink.refused.Load() == 0 {
		t.Error("the outage never reached the collector: the test proves nothing")
	}
	r.requireNoLoss(got, len(keys))
	if peak.Load() > 300*1024 {
		t.Errorf("peak RSS %d MiB while the backend was down: memory is not bounded", peak.Load()/1024)
	}
	p.stop(t)
}

func TestRotationRaceAtFullSpeed(t *testing.T) {
	r := newLossRig(t, 4, 0)
	p := r.startCollector()
	start, lastCheck := time.Now(), time.Now()
	rotations := 0
	for time.Since(start) < 15*time.Second {
		for _, c := range r.containers {
			c.print(t, "stdout", 120)
		}
		// kubelet's container log manager: a size check at an interval (10 s in
		// kubelet, 1 s here), rotating files over 1 MiB, gzipping older ones.
		if time.Since(lastCheck) >= time.Second {
			rotations += r.rotateBig(1 << 20)
			lastCheck = time.Now()
		}
	}
	keys := r.finish()
	t.Logf("%d rotations of 1 MiB files in %s", rotations, time.Since(start).Round(time.Second))
	got := r.await(keys)
	r.requireNoLoss(got, len(keys))
	p.stop(t)
}

// vmRSSKiB reads a process's resident set size; 0 if it is gone.
func vmRSSKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(rest)), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
