package loggyreceiver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap/zaptest"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/metadata"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/metadatatest"
)

// node is a temp dir laid out like a Kubernetes node's log directories.
type node struct {
	t    *testing.T
	root string
}

func newNode(t *testing.T) *node {
	root := t.TempDir()
	for _, d := range []string{"var/log/pods", "var/log/containers"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	return &node{t: t, root: root}
}

// container is one container's log file as kubelet and the runtime lay it out.
type container struct {
	t                 *testing.T
	ns, pod, name, id string
	dir, file, link   string
	mu                sync.Mutex
	f                 *os.File
	rotations         int
	clock             time.Time
}

func (n *node) container(ns, pod, name string) *container {
	uid := fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(ns)*1000+len(pod)*10+len(name))
	id := strings.Repeat(fmt.Sprintf("%x", (len(ns)+len(pod)+len(name))%16), 64)
	c := &container{
		t: n.t, ns: ns, pod: pod, name: name, id: id,
		dir:   filepath.Join(n.root, "var/log/pods", ns+"_"+pod+"_"+uid, name),
		link:  filepath.Join(n.root, "var/log/containers", pod+"_"+ns+"_"+name+"-"+id+".log"),
		clock: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
	}
	c.file = filepath.Join(c.dir, "0.log")
	require.NoError(n.t, os.MkdirAll(c.dir, 0o755))
	c.open()
	require.NoError(n.t, os.Symlink(c.file, c.link))
	n.t.Cleanup(func() { c.mu.Lock(); _ = c.f.Close(); c.mu.Unlock() })
	return c
}

func (c *container) open() {
	f, err := os.OpenFile(c.file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(c.t, err)
	c.f = f
}

// cri writes one CRI line.
func (c *container) cri(stream, tag, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock = c.clock.Add(time.Millisecond)
	_, err := fmt.Fprintf(c.f, "%s %s %s %s\n", c.clock.Format(time.RFC3339Nano), stream, tag, msg)
	require.NoError(c.t, err)
}

// docker writes one docker json-file line.
func (c *container) docker(stream, log string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock = c.clock.Add(time.Millisecond)
	_, err := fmt.Fprintf(c.f, "{\"log\":%q,\"stream\":%q,\"time\":%q}\n", log, stream, c.clock.Format(time.RFC3339Nano))
	require.NoError(c.t, err)
}

// rotate does what kubelet does: rename 0.log to 0.log.<time> and have the
// runtime reopen, which creates a new 0.log.
func (c *container) rotate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotations++
	rotated := fmt.Sprintf("%s.20261124-1000%02d", c.file, c.rotations)
	require.NoError(c.t, os.Rename(c.file, rotated))
	require.NoError(c.t, c.f.Close())
	c.open()
}

// copytruncate empties the file in place, as logrotate's copytruncate does.
func (c *container) copytruncate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	require.NoError(c.t, c.f.Truncate(0))
}

func (n *node) config() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Include = []string{filepath.Join(n.root, "var/log/containers/*.log")}
	cfg.Exclude = []string{filepath.Join(n.root, "var/log/containers/*_kube-system_*.log")}
	cfg.LogRoots = []string{filepath.Join(n.root, "var/log/pods")}
	cfg.StartAt = startAtBeginning
	cfg.PollInterval = 50 * time.Millisecond
	return cfg
}

// got is a delivered record, flattened for assertions.
type got struct {
	ns, pod, container, body, stream string
	restart                          int64
	time                             time.Time
	attrs                            map[string]any
	severity                         plog.SeverityNumber
}

func flatten(all []plog.Logs) []got {
	var out []got
	for _, ld := range all {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			res := rl.Resource().Attributes()
			str := func(k string) string {
				v, _ := res.Get(k)
				return v.Str()
			}
			restart := int64(-1)
			if v, ok := res.Get("k8s.container.restart_count"); ok {
				restart = v.Int()
			}
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				recs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					lr := recs.At(k)
					stream, _ := lr.Attributes().Get("log.iostream")
					out = append(out, got{
						ns: str("k8s.namespace.name"), pod: str("k8s.pod.name"), container: str("k8s.container.name"),
						restart: restart, body: lr.Body().Str(), stream: stream.Str(),
						time: lr.Timestamp().AsTime(), attrs: lr.Attributes().AsRaw(), severity: lr.SeverityNumber(),
					})
				}
			}
		}
	}
	return out
}

func bodies(recs []got, pod string) []string {
	var out []string
	for _, r := range recs {
		if r.pod == pod {
			out = append(out, r.body)
		}
	}
	return out
}

type run struct {
	t    *testing.T
	sink *consumertest.LogsSink
	tt   *componenttest.Telemetry
	rcv  interface {
		Start(context.Context, component.Host) error
		Shutdown(context.Context) error
	}
}

func startReceiver(t *testing.T, cfg *Config, next consumer.Logs, host component.Host) *run {
	t.Helper()
	require.NoError(t, cfg.Validate())
	sink, _ := next.(*consumertest.LogsSink)
	tt := componenttest.NewTelemetry()
	set := metadatatest.NewSettings(tt)
	set.ID = component.NewID(metadata.Type)
	if os.Getenv("LOGGY_DEBUG") != "" {
		set.Logger = zaptest.NewLogger(t)
	}
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, rcv.Start(context.Background(), host))
	r := &run{t: t, sink: sink, tt: tt, rcv: rcv}
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *run) stop() {
	if r.rcv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(r.t, r.rcv.Shutdown(ctx))
	require.NoError(r.t, r.tt.Shutdown(ctx))
	r.rcv = nil
}

// waitBodies waits until pod has delivered n records and returns them.
func (r *run) waitBodies(pod string, n int) []string {
	r.t.Helper()
	var b []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b = bodies(flatten(r.sink.AllLogs()), pod); len(b) >= n {
			return b
		}
	}
	r.t.Fatalf("pod %s: want %d records, got %d: %s (%s)", pod, n, len(b), missing(b, n), r.counters())
	return nil
}

// counter reads one of the receiver's own counters.
func (r *run) counter(name string) int64 {
	m, err := r.tt.GetMetric("otelcol_" + name)
	if err != nil {
		return 0
	}
	var sum int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sum += dp.Value
		}
	case metricdata.Gauge[int64]:
		for _, dp := range d.DataPoints {
			sum += dp.Value
		}
	}
	return sum
}

func (r *run) counters() string {
	var out []string
	out = append(out, fmt.Sprintf("records=%d", r.sink.LogRecordCount()))
	pods := map[string]int{}
	for _, g := range flatten(r.sink.AllLogs()) {
		pods[g.ns+"/"+g.pod]++
	}
	out = append(out, fmt.Sprint(pods))
	for _, name := range []string{"files_tracked", "lines_read", "bytes_read", "rotations", "read_errors", "parse_errors"} {
		out = append(out, fmt.Sprintf("%s=%d", name, r.counter("loggy_"+name)))
	}
	return strings.Join(out, " ")
}

func seq(prefix string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s %d", prefix, i))
	}
	return out
}

// missing summarizes what a "<prefix> <n>" sequence lacks, for failure messages.
func missing(b []string, n int) string {
	have := map[string]int{}
	for _, x := range b {
		have[x]++
	}
	var out []string
	for _, x := range b {
		if have[x] > 1 {
			out = append(out, "dup "+x)
			have[x] = 0
		}
	}
	if len(b) > 0 {
		prefix, _, _ := strings.Cut(b[0], " ")
		for _, want := range seq(prefix, 0, n) {
			if _, ok := have[want]; !ok {
				out = append(out, "missing "+want)
			}
		}
	}
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... %d more", len(out)-20))
	}
	return strings.Join(out, ", ")
}

func consumerFunc(fn consumer.ConsumeLogsFunc) consumer.Logs {
	c, err := consumer.NewLogs(fn)
	if err != nil {
		panic(err)
	}
	return c
}
