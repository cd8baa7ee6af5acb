package discovery

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Watcher turns fsnotify events on the directories of followed files into
// "these paths changed" and "rescan needed". It never blocks fsnotify: events
// are folded into a set and signalled on a channel of capacity 1.
type Watcher struct {
	logger *zap.Logger
	fsw    *fsnotify.Watcher
	c      chan struct{}
	done   chan struct{}

	syncMu sync.Mutex          // serialises Sync
	logged map[string]struct{} // dirs whose add failure was logged; under syncMu

	mu      sync.Mutex
	watched map[string]struct{}
	written map[string]struct{}
	rescan  bool
}

// NewWatcher starts watching nothing yet. An error means inotify is
// unavailable (e.g. fs.inotify.max_user_instances reached): the caller then
// relies on polling alone.
func NewWatcher(logger *zap.Logger) (*Watcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	w := &Watcher{
		logger:  logger,
		fsw:     fsw,
		c:       make(chan struct{}, 1),
		done:    make(chan struct{}),
		logged:  map[string]struct{}{},
		watched: map[string]struct{}{},
		written: map[string]struct{}{},
	}
	go w.loop()
	return w, nil
}

func (w *Watcher) loop() {
	defer close(w.done)
	events, errs := w.fsw.Events, w.fsw.Errors
	for events != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			w.fold(ev)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflow lost events; any other error may have too. A rescan
			// marks every open file for reading, so nothing is missed.
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				w.logger.Debug("File event error; rescanning", zap.Error(err))
			}
			w.mark(func() { w.rescan = true })
		}
	}
}

func (w *Watcher) fold(ev fsnotify.Event) {
	switch {
	case ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		w.mark(func() {
			w.rescan = true
			// A watched dir that went away lost its inotify watch; forget it so
			// the next Sync adds it again if it comes back.
			delete(w.watched, ev.Name)
		})
	case ev.Has(fsnotify.Write):
		w.mark(func() { w.written[ev.Name] = struct{}{} })
	}
}

// mark updates the pending state and signals without blocking.
func (w *Watcher) mark(f func()) {
	w.mu.Lock()
	f()
	w.mu.Unlock()
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// Sync makes the watched directory set equal to dirs (adds new, removes old).
// A failure to add (e.g. ENOSPC when inotify watches are exhausted, a vanished
// dir) is logged once per dir and returned as the count of directories not
// watched; polling still covers them. Failed dirs are retried on every Sync.
func (w *Watcher) Sync(dirs []string) (unwatched int) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	want := make(map[string]struct{}, len(dirs))
	for _, d := range dirs {
		want[filepath.Clean(d)] = struct{}{}
	}
	var add, remove []string
	w.mu.Lock()
	for d := range want {
		if _, ok := w.watched[d]; !ok {
			add = append(add, d)
		}
	}
	for d := range w.watched {
		if _, ok := want[d]; !ok {
			remove = append(remove, d)
			delete(w.watched, d)
		}
	}
	w.mu.Unlock()

	// fsnotify calls happen outside w.mu: fsnotify may be waiting to hand an
	// event to the loop, which needs w.mu.
	for _, d := range remove {
		_ = w.fsw.Remove(d) // fails only if the kernel already dropped the watch
	}
	for d := range w.logged {
		if _, ok := want[d]; !ok {
			delete(w.logged, d)
		}
	}
	for _, d := range add {
		if err := w.fsw.Add(d); err != nil {
			unwatched++
			if _, ok := w.logged[d]; !ok {
				w.logged[d] = struct{}{}
				level := zap.WarnLevel
				if errors.Is(err, fs.ErrNotExist) {
					level = zap.DebugLevel // a pod went away between scan and Sync
				}
				w.logger.Log(level, "Cannot watch directory; polling covers it", zap.String("dir", d), zap.Error(err))
			}
			continue
		}
		delete(w.logged, d)
		w.mu.Lock()
		w.watched[d] = struct{}{}
		w.mu.Unlock()
	}
	return unwatched
}

// C receives when Take has something. A receive may find Take empty when an
// earlier Take already collected the events it announced.
func (w *Watcher) C() <-chan struct{} { return w.c }

// Take returns and clears the paths that saw Write events since the last Take,
// and whether a Create/Remove/Rename (or an event-queue overflow) asks for a
// rescan. Written paths are the watched directory (as given to Sync, cleaned)
// joined with the file name.
func (w *Watcher) Take() (written map[string]struct{}, rescan bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	written, rescan = w.written, w.rescan
	w.written, w.rescan = map[string]struct{}{}, false
	return written, rescan
}

// Close stops watching and waits for the event goroutine to end.
func (w *Watcher) Close() error {
	err := w.fsw.Close()
	<-w.done
	return err
}
