package loggyreceiver

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/discovery"
)

// The node tree in testdata/ (see testdata/README.md) read with a default-like config.
func TestTestdataNode(t *testing.T) {
	root, err := filepath.Abs("../../testdata/node")
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	cfg.Include = []string{root + "/var/log/containers/*.log"}
	cfg.Exclude = []string{root + "/var/log/containers/*_kube-system_*.log"}
	cfg.LogRoots = []string{root + "/var/log/pods", root + "/var/lib/docker/containers"}
	cfg.StartAt = startAtBeginning
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)

	const want = 11 + 4 + 9 + 2 + 2
	require.Eventually(t, func() bool { return r.sink.LogRecordCount() >= want }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // nothing more may come
	recs := flatten(r.sink.AllLogs())
	require.Len(t, recs, want)

	perPod := map[string]int{}
	byBody := map[string]got{}
	for _, g := range recs {
		assert.NotEqual(t, "kube-system", g.ns)
		perPod[g.pod+"/"+g.stream]++
		byBody[g.body] = g
	}
	assert.Equal(t, map[string]int{
		"web-7d4b9c-x2x9q/stdout": 8, "web-7d4b9c-x2x9q/stderr": 2, "web-7d4b9c-x2x9q/": 1,
		"cart-5f8d7b6c4-mz7lp/stdout": 8, "cart-5f8d7b6c4-mz7lp/stderr": 4, "cart-5f8d7b6c4-mz7lp/": 1,
		"ledger-0/stdout": 1, "ledger-0/stderr": 1,
		"invoice-worker-6c9f8d5b7-q4w2e/stdout": 1, "invoice-worker-6c9f8d5b7-q4w2e/stderr": 1,
	}, perPod)
	assert.Equal(t, int64(2), r.counter("loggy_parse_errors"))

	var joined, cet, tagged *got
	for i, g := range recs {
		switch {
		case strings.HasPrefix(g.body, "cart snapshot: "):
			joined = &recs[i]
		case strings.HasPrefix(g.body, "checkout basket: "):
			assert.Len(t, g.body, 40000, "three CRI parts joined")
		case g.body == "tag field with an extra tag after the colon":
			tagged = &recs[i]
		case g.time.Equal(time.Date(2026, 11, 24, 10, 15, 0, 500_000_000, time.UTC)) && g.pod == "cart-5f8d7b6c4-mz7lp":
			cet = &recs[i]
		}
	}
	require.NotNil(t, joined)
	assert.Len(t, joined.body, 20013, "docker's 16 KiB split joined")
	assert.True(t, strings.HasSuffix(joined.body, "item-01817,"))
	require.NotNil(t, tagged)
	require.NotNil(t, cet, "a +01:00 timestamp is the same instant in UTC")
	assert.Equal(t, int64(1), cet.restart)
	escaped := 0
	for b := range byBody {
		if strings.Contains(b, "q=<script>&lang") {
			escaped++
		}
	}
	assert.Equal(t, 1, escaped, "docker's \\u003c escapes decoded")
}

// With an hour between rescans, only file events can deliver a new file's lines.
func TestFileEventsDriveReading(t *testing.T) {
	n := newNode(t)
	cfg := n.config()
	cfg.PollInterval = time.Hour
	r := startReceiver(t, cfg, new(consumertest.LogsSink), nil)
	c := n.container("shop", "new-pod", "app")
	c.cri("stdout", "F", "hello")
	assert.Equal(t, []string{"hello"}, r.waitBodies("new-pod", 1))
	c.cri("stdout", "F", "again")
	assert.Equal(t, []string{"hello", "again"}, r.waitBodies("new-pod", 2))
}

// Without inotify the rescan alone keeps everything working.
func TestPollingAloneWhenEventsAreUnavailable(t *testing.T) {
	orig := newWatcher
	newWatcher = func(*zap.Logger) (*discovery.Watcher, error) { return nil, errors.New("inotify: too many instances") }
	t.Cleanup(func() { newWatcher = orig })

	n := newNode(t)
	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	c := n.container("shop", "poll-pod", "app")
	for _, m := range seq("p", 0, 5) {
		c.cri("stdout", "F", m)
	}
	assert.Equal(t, seq("p", 0, 5), r.waitBodies("poll-pod", 5))
	c.rotate()
	c.cri("stdout", "F", "p 5")
	assert.Equal(t, seq("p", 0, 6), r.waitBodies("poll-pod", 6))
}

// storageHost is a host with a real file_storage extension.
type storageHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

func startFileStorage(t *testing.T, dir string) (storageHost, component.ID, func()) {
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	id := component.NewID(f.Type())
	return storageHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{id: extension.Extension(ext)}},
		id, func() { require.NoError(t, ext.Shutdown(context.Background())) }
}

// A restart resumes where the last accepted batch ended, even for a file that
// was rotated while the receiver was down.
func TestRestartResumesFromCheckpoints(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "ckpt-pod", "app")
	store := t.TempDir()
	for _, m := range seq("l", 0, 100) {
		c.cri("stdout", "F", m)
	}

	host, id, stopStorage := startFileStorage(t, store)
	cfg := n.config()
	cfg.StartAt = startAtEnd // must not matter: the checkpoint wins over start_at
	cfg.Storage = &id
	first := startReceiver(t, cfg, new(consumertest.LogsSink), host)
	cfgBeginning := *cfg
	cfgBeginning.StartAt = startAtBeginning
	require.Eventually(t, func() bool { return first.counter("loggy_files_tracked") == 1 }, 10*time.Second, 10*time.Millisecond)
	for _, m := range seq("l", 100, 150) {
		c.cri("stdout", "F", m)
	}
	assert.Equal(t, seq("l", 100, 150), first.waitBodies("ckpt-pod", 50), "start_at end skipped the first 100")
	require.Positive(t, first.counter("loggy_checkpoint_commits"))
	first.stop()
	stopStorage()

	// While down: more lines, two kubelet rotations (the middle file was never
	// seen), and lines in the newest file.
	for _, m := range seq("l", 150, 170) {
		c.cri("stdout", "F", m)
	}
	c.rotate()
	for _, m := range seq("l", 170, 175) {
		c.cri("stdout", "F", m)
	}
	c.rotate()
	for _, m := range seq("l", 175, 180) {
		c.cri("stdout", "F", m)
	}

	host, _, stopStorage = startFileStorage(t, store)
	defer stopStorage()
	second := startReceiver(t, cfg, new(consumertest.LogsSink), host)
	got := second.waitBodies("ckpt-pod", 30)
	time.Sleep(200 * time.Millisecond)
	got = bodies(flatten(second.sink.AllLogs()), "ckpt-pod")
	assert.Equal(t, seq("l", 150, 180), got, "the rotated file finished from its checkpoint, then the one never seen, then the new one; nothing twice")
	second.stop()
}
