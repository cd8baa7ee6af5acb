package discovery

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func newWatcher(t *testing.T) *Watcher {
	t.Helper()
	w, err := NewWatcher(zap.NewNop())
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	t.Cleanup(func() { assert.NoError(t, w.Close()) })
	return w
}

// collected is everything Take reported while waiting.
type collected struct {
	written map[string]struct{}
	rescan  bool
}

// waitFor collects signalled events until done says so or a deadline passes.
func waitFor(t *testing.T, w *Watcher, done func(collected) bool) collected {
	t.Helper()
	c := collected{written: map[string]struct{}{}}
	deadline := time.After(2 * time.Second)
	for !done(c) {
		select {
		case <-w.C():
			written, rescan := w.Take()
			for p := range written {
				c.written[p] = struct{}{}
			}
			c.rescan = c.rescan || rescan
		case <-deadline:
			t.Fatalf("timed out; got written=%v rescan=%v", c.written, c.rescan)
		}
	}
	return c
}

func wrote(p string) func(collected) bool {
	return func(c collected) bool { _, ok := c.written[p]; return ok }
}

func rescanned(c collected) bool { return c.rescan }

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestWatcherWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "0.log")
	appendTo(t, p, "first\n")
	w := newWatcher(t)
	require.Equal(t, 0, w.Sync([]string{dir}))

	appendTo(t, p, "more\n")
	c := waitFor(t, w, wrote(p))
	assert.False(t, c.rescan, "a write alone asks for no rescan")

	// Many writes before anyone looks fold into one set.
	for range 100 {
		appendTo(t, p, "x\n")
	}
	waitFor(t, w, wrote(p))
	written, _ := w.Take()
	assert.LessOrEqual(t, len(written), 1)
}

func TestWatcherCreateRenameRemove(t *testing.T) {
	dir := t.TempDir()
	w := newWatcher(t)
	require.Equal(t, 0, w.Sync([]string{dir}))
	p := filepath.Join(dir, "0.log")

	appendTo(t, p, "created\n")
	waitFor(t, w, rescanned)

	w.Take() // drop the write that came with the create
	require.NoError(t, os.Rename(p, p+".20261124-101500"))
	waitFor(t, w, rescanned)

	w.Take()
	require.NoError(t, os.Remove(p+".20261124-101500"))
	waitFor(t, w, rescanned)
}

func TestWatcherSync(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	pa, pb := filepath.Join(a, "0.log"), filepath.Join(b, "0.log")
	w := newWatcher(t)
	require.Equal(t, 0, w.Sync([]string{a, b, a + "/"}))
	appendTo(t, pa, "a\n")
	appendTo(t, pb, "b\n")
	waitFor(t, w, func(c collected) bool { return wrote(pa)(c) && wrote(pb)(c) })

	require.Equal(t, 0, w.Sync([]string{b}))
	w.Take()
	// Events arrive in order, so once b's write is seen, a's would have been too.
	appendTo(t, pa, "a\n")
	appendTo(t, pb, "b\n")
	c := waitFor(t, w, wrote(pb))
	assert.NotContains(t, c.written, pa, "a is no longer watched")
}

func TestWatcherSyncFailures(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	w, err := NewWatcher(zap.New(core))
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	defer func() { assert.NoError(t, w.Close()) }()
	dir := t.TempDir()
	missing := filepath.Join(dir, "gone")

	assert.Equal(t, 1, w.Sync([]string{dir, missing}))
	assert.Equal(t, 1, w.Sync([]string{dir, missing}), "retried and counted each time")
	assert.Equal(t, 1, logs.FilterField(zap.String("dir", missing)).Len(), "logged once per dir")

	// Once it exists it is watched.
	require.NoError(t, os.Mkdir(missing, 0o755))
	assert.Equal(t, 0, w.Sync([]string{dir, missing}))
	p := filepath.Join(missing, "0.log")
	appendTo(t, p, "x\n")
	waitFor(t, w, wrote(p))
}

func TestWatcherDirRecreated(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "nginx")
	require.NoError(t, os.Mkdir(dir, 0o755))
	w := newWatcher(t)
	require.Equal(t, 0, w.Sync([]string{dir}))

	require.NoError(t, os.Remove(dir))
	waitFor(t, w, rescanned)
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.Equal(t, 0, w.Sync([]string{dir}), "the removed dir is added again")
	p := filepath.Join(dir, "0.log")
	appendTo(t, p, "x\n")
	waitFor(t, w, wrote(p))
}

func TestWatcherCloseTwice(t *testing.T) {
	w, err := NewWatcher(nil)
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	w.Sync([]string{t.TempDir()})
	assert.NoError(t, w.Close())
	assert.NoError(t, w.Close())
}
