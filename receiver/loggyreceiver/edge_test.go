package loggyreceiver

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/checkpoint"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/tail"
)

// A link in /var/log/containers that leads outside log_roots is never read.
func TestSymlinkOutsideLogRootsIsRefused(t *testing.T) {
	n := newNode(t)
	secret := filepath.Join(n.root, "etc", "shadow")
	require.NoError(t, os.MkdirAll(filepath.Dir(secret), 0o755))
	require.NoError(t, os.WriteFile(secret, []byte("2026-11-24T10:00:00Z stdout F root:secret\n"), 0o600))
	require.NoError(t, os.Symlink(secret, filepath.Join(n.root, "var/log/containers",
		"evil_shop_app-"+fmt64("e")+".log")))
	ok := n.container("shop", "ok-pod", "app")
	ok.cri("stdout", "F", "fine")

	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	assert.Equal(t, []string{"fine"}, r.waitBodies("ok-pod", 1))
	time.Sleep(200 * time.Millisecond) // several rescans
	for _, g := range flatten(r.sink.AllLogs()) {
		assert.NotContains(t, g.body, "secret")
	}
	assert.Equal(t, int64(1), r.counter("loggy_read_errors"), "counted once, not at every rescan")
}

func fmt64(c string) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c[0]
	}
	return string(b)
}

// A file that cannot be opened is reported once; the others go on, and it is
// read once it can be (tests run as root, so permission is refused by a hook).
func TestUnreadableFileIsReportedAndRetried(t *testing.T) {
	n := newNode(t)
	locked := n.container("shop", "locked-pod", "app")
	locked.cri("stdout", "F", "was locked")
	open := n.container("shop", "open-pod", "app")
	open.cri("stdout", "F", "readable")

	var allow atomic.Bool
	orig := openFile
	openFile = func(p string) (*tail.File, error) {
		if p == locked.file && !allow.Load() {
			return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}
		}
		return orig(p)
	}
	t.Cleanup(func() { openFile = orig })

	r := startReceiver(t, n.config(), new(consumertest.LogsSink), nil)
	assert.Equal(t, []string{"readable"}, r.waitBodies("open-pod", 1))
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, bodies(flatten(r.sink.AllLogs()), "locked-pod"))
	assert.Equal(t, int64(1), r.counter("loggy_read_errors"))
	allow.Store(true)
	assert.Equal(t, []string{"was locked"}, r.waitBodies("locked-pod", 1))
}

// A new file at a known path is read from 0 even when it got the inode of the
// checkpointed one: the fingerprint tells them apart. Checkpoints of files
// that are gone are dropped.
func TestInodeReuseAndGoneCheckpoints(t *testing.T) {
	n := newNode(t)
	c := n.container("shop", "reuse-pod", "app")
	gone := n.container("shop", "gone-pod", "app")
	for _, m := range seq("old", 0, 50) {
		c.cri("stdout", "F", m)
	}
	gone.cri("stdout", "F", "soon gone")
	dir := t.TempDir()
	host, id, stopStorage := startFileStorage(t, dir)
	cfg := n.config()
	cfg.Storage = &id
	first := startReceiver(t, cfg, new(consumertest.LogsSink), host)
	first.waitBodies("reuse-pod", 50)
	first.waitBodies("gone-pod", 1)
	first.stop()
	stopStorage()

	before := inode(t, c.file)
	c.mu.Lock()
	require.NoError(t, c.f.Close())
	require.NoError(t, os.Remove(c.file))
	c.open() // a new file, often with the inode just freed
	c.mu.Unlock()
	t.Logf("inode reused: %v", inode(t, c.file) == before)
	for _, m := range seq("new", 0, 100) { // more than before, so only the fingerprint can tell
		c.cri("stdout", "F", m)
	}
	require.NoError(t, os.Remove(gone.link))
	require.NoError(t, os.RemoveAll(filepath.Dir(gone.dir)))

	host, id, stopStorage = startFileStorage(t, dir)
	second := startReceiver(t, cfg, new(consumertest.LogsSink), host)
	assert.Equal(t, seq("new", 0, 100), second.waitBodies("reuse-pod", 100))
	second.stop()

	entries := loadCheckpoints(t, host, id)
	require.Len(t, entries, 1, "only the file that still exists keeps a checkpoint")
	assert.Equal(t, c.file, entries[0].Path)
	stopStorage()
}

func inode(t *testing.T, p string) uint64 {
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return tail.IdentityOf(fi).Ino
}

func loadCheckpoints(t *testing.T, host storageHost, id component.ID) []checkpoint.Entry {
	ctx := context.Background()
	client, err := host.exts[id].(storage.Extension).GetClient(ctx, component.KindReceiver, component.NewID(component.MustNewType("loggy")), "")
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close(ctx)) }()
	entries, err := checkpoint.New(client).Load(ctx)
	require.NoError(t, err)
	return entries
}
