package loggyreceiver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/checkpoint"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/discovery"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8spath"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/multiline"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/tail"
)

const (
	// readBudget is how much one file may read per round, so a flooding
	// container cannot starve the others.
	readBudget = 256 << 10
	// fingerprintSize is how many leading bytes identify a file's content.
	fingerprintSize = 1024
	// multilineTimeout is how long a possible stack trace waits for its next line.
	multilineTimeout = 500 * time.Millisecond
)

// follower is the single goroutine that owns every open file. Reading, parsing,
// delivery and offset commits happen in order on it, so a slow or refusing
// consumer pauses reading instead of piling data up in memory.
type follower struct {
	r         *logsReceiver
	format    parse.Format
	scanner   *discovery.Scanner
	watcher   *discovery.Watcher
	store     *checkpoint.Store
	saved     map[tail.Identity]checkpoint.Entry // checkpoints not yet matched to a file
	maxLine   int
	files     []*fileState // read order
	byReal    map[string]*fileState
	byID      map[tail.Identity]*fileState
	lastAt    map[string]tail.Identity // the file last followed at each path, to see rotations
	buckets   map[string]*bucket       // per container (link path), with rate_limit_per_container
	removed   []tail.Identity          // closed files whose checkpoints must go
	warned    map[string]bool          // paths already warned about, to keep logs quiet
	batch     *batch
	firstRun  bool
	lastScan  time.Time
	linesRead int64 // since the last read's count went to the telemetry
}

// fileState is one open file and where delivery of it stands.
type fileState struct {
	file      *tail.File
	id        tail.Identity
	target    discovery.Target
	parser    *parse.Parser
	merger    *parse.Merger
	fp        []byte
	dirty     bool              // may have unread data
	atEOF     bool              // the last read reached the end
	gone      bool              // its path no longer leads to it (rotated or deleted): drain, then close
	settling  bool              // was already gone at the previous rescan
	joiner    *multiline.Joiner // stack traces, when multiline is on
	lastEnd   int64             // end of the last line handed to the parser
	bucket    *bucket           // rate_limit_per_container, shared with the container's rotated files
	lastSize  int64             // size at the previous rescan, to see a gone file settle
	safe      int64             // every line before it is in the current batch or delivered
	committed int64             // every line before it was accepted by the next consumer
}

func newFollower(r *logsReceiver, format parse.Format, scanner *discovery.Scanner, watcher *discovery.Watcher, store *checkpoint.Store, saved []checkpoint.Entry) *follower {
	f := &follower{
		r: r, format: format, scanner: scanner, watcher: watcher, store: store,
		saved:    make(map[tail.Identity]checkpoint.Entry, len(saved)),
		maxLine:  int(r.cfg.MaxLogSize) + 64<<10,
		byReal:   map[string]*fileState{},
		byID:     map[tail.Identity]*fileState{},
		lastAt:   map[string]tail.Identity{},
		buckets:  map[string]*bucket{},
		warned:   map[string]bool{},
		firstRun: true,
	}
	for _, e := range saved {
		f.saved[tail.Identity{Dev: e.Dev, Ino: e.Ino}] = e
	}
	f.batch = newBatch(r)
	return f
}

func (f *follower) run(ctx context.Context) {
	defer f.closeAll()
	ticker := time.NewTicker(f.r.cfg.PollInterval)
	defer ticker.Stop()
	var events <-chan struct{}
	if f.watcher != nil {
		events = f.watcher.C()
	}
	f.rescan(ctx)
	for ctx.Err() == nil {
		f.readAll(ctx)
		var expiry <-chan time.Time
		if next := f.expire(ctx, time.Now()); !next.IsZero() {
			expiry = time.After(time.Until(next))
		}
		f.flush(ctx)
		select {
		case <-expiry:
		case <-ctx.Done():
			return
		case <-ticker.C:
			f.rescan(ctx)
		case <-events:
			if f.takeEvents() {
				f.rescan(ctx)
			}
		}
	}
}

// takeEvents marks the files that file events say grew, and reports whether
// the events ask for a rescan.
func (f *follower) takeEvents() (rescan bool) {
	written, rescan := f.watcher.Take()
	for p := range written {
		if fs := f.byReal[p]; fs != nil {
			fs.dirty = true
		}
	}
	return rescan
}

// resumeRotated reopens files that checkpoints describe but that no longer sit
// at their recorded path: a 0.log that was rotated to 0.log.<time> while the
// agent was down is finished from its offset, found by identity, before the
// current 0.log is read.
func (f *follower) resumeRotated(ctx context.Context, targets []discovery.Target) {
	byReal := make(map[string]discovery.Target, len(targets))
	for _, t := range targets {
		byReal[t.Real] = t
	}
	for id, e := range f.saved {
		if fi, err := os.Stat(e.Path); err == nil && tail.IdentityOf(fi) == id {
			continue // still current; the scan picks it up
		}
		path := findByIdentity(e.Path, id)
		if path == "" {
			continue
		}
		t, ok := byReal[e.Path]
		if !ok {
			t = discovery.Target{Meta: k8spath.Parse("", path)}
		}
		t.Real = path
		if fs := f.open(t, id); fs != nil {
			f.markGone(ctx, fs)
			f.drain(ctx, fs)
			// Files rotated after it while the agent was down come next.
			f.lastAt[e.Path] = id
		}
	}
}

// rotatedSiblings lists the plain rotated copies of a file (name.<suffix>,
// never .gz), oldest first: kubelet's suffix is a sortable time.
func rotatedSiblings(real string) (paths []string, ids []tail.Identity) {
	dir, base := filepath.Dir(real), filepath.Base(real)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil
	}
	for _, de := range entries {
		name := de.Name()
		if !strings.HasPrefix(name, base+".") || strings.HasSuffix(name, ".gz") {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil {
			paths, ids = append(paths, p), append(ids, tail.IdentityOf(fi))
		}
	}
	return paths, ids
}

func findByIdentity(real string, id tail.Identity) string {
	paths, ids := rotatedSiblings(real)
	for i := range ids {
		if ids[i] == id {
			return paths[i]
		}
	}
	return ""
}

// catchUp reads the files rotated after prev, the file last followed at
// t.Real, when more than one rotation happened between two rescans.
func (f *follower) catchUp(ctx context.Context, t discovery.Target, prev tail.Identity) {
	paths, ids := rotatedSiblings(t.Real)
	after := false
	for i, id := range ids {
		if id == prev {
			after = true
			continue
		}
		if !after || f.byID[id] != nil {
			continue
		}
		rt := t
		rt.Real = paths[i]
		if fs := f.open(rt, id); fs != nil {
			f.lastAt[t.Real] = id
			f.markGone(ctx, fs)
			f.drain(ctx, fs)
		}
	}
}

// rescan matches the files on disk against the open ones: it opens new files,
// notices rotation, deletion and truncation, and closes drained gone files.
func (f *follower) rescan(ctx context.Context) {
	f.lastScan = time.Now()
	targets, problems := f.scanner.Scan()
	for _, err := range problems {
		if errors.Is(err, discovery.ErrDangling) {
			f.r.set.Logger.Debug("Skipping log file", zap.Error(err))
			continue
		}
		f.problem(ctx, err.Error(), "Skipping log file", err)
	}
	if f.firstRun {
		f.resumeRotated(ctx, targets)
	}
	seen := make(map[*fileState]bool, len(targets))
	present := make(map[string]bool, len(targets))
	dirs := map[string]struct{}{}
	for _, g := range f.r.cfg.Include {
		if d := filepath.Dir(g); !hasMeta(d) {
			dirs[d] = struct{}{}
		}
	}
	for _, t := range targets {
		dirs[filepath.Dir(t.Path)] = struct{}{}
		dirs[filepath.Dir(t.Real)] = struct{}{}
		present[t.Real] = true
		fi, err := os.Stat(t.Real)
		if err != nil {
			continue // vanished between glob and stat; the next scan settles it
		}
		id := tail.IdentityOf(fi)
		if fs := f.byReal[t.Real]; fs != nil {
			if fs.id == id {
				seen[fs] = true
				f.checkTruncated(ctx, fs)
				continue
			}
			// Same name, new file: the old one was rotated or replaced. Finish it
			// first so lines stay in order per container.
			f.markGone(ctx, fs)
			f.drain(ctx, fs)
		}
		if fs := f.byID[id]; fs != nil {
			seen[fs] = true // known under another name (resumed after a rotation)
			continue
		}
		if prev, ok := f.lastAt[t.Real]; ok && prev != id {
			f.catchUp(ctx, t, prev)
		}
		if fs := f.open(t, id); fs != nil {
			seen[fs] = true
			f.lastAt[t.Real] = id
		}
	}
	for p := range f.lastAt {
		if present[p] {
			continue
		}
		if _, err := os.Stat(filepath.Dir(p)); err != nil {
			delete(f.lastAt, p) // the container's directory is gone
		}
	}
	var lag int64
	for _, fs := range append([]*fileState(nil), f.files...) {
		if !seen[fs] && !fs.gone {
			f.markGone(ctx, fs)
		}
		size, err := fs.file.Size()
		if err != nil {
			continue
		}
		// File events say when a file grew; the rescan only catches what they
		// missed, so an idle file costs no read.
		fs.dirty = fs.dirty || fs.gone || size != fs.file.Offset()
		// A gone file is let go once it sat at its end, unchanged, for a whole
		// poll interval: the runtime may write a little more between kubelet's
		// rename and its reopen.
		if fs.gone && fs.settling && fs.atEOF && size == fs.lastSize {
			f.finish(ctx, fs)
			continue
		}
		fs.settling = fs.gone
		fs.lastSize = size
		lag += size - fs.committed
	}
	if f.firstRun {
		// Checkpoints of files that are gone for good are dropped.
		for id := range f.saved {
			f.removed = append(f.removed, id)
		}
		clear(f.saved)
		f.firstRun = false
		// Record where every file starts, so a restart before the first batch
		// neither skips nor repeats lines.
		f.commitCheckpoints(ctx, f.files)
	}
	f.r.tel.LoggyReadLag.Record(ctx, lag)
	if f.watcher != nil {
		list := make([]string, 0, len(dirs))
		for d := range dirs {
			list = append(list, d)
		}
		f.watcher.Sync(list)
	}
}

// excluded tells whether the API marks this file's pod as not to be collected.
func (f *follower) excluded(fs *fileState) bool {
	if f.r.meta == nil {
		return false
	}
	m, ok := f.r.meta.Lookup(fs.target.Meta.PodUID)
	return ok && m.Exclude
}

// pending reports whether lines before the read position are still held
// (a split line, a stack trace), so the safe offset must stay before them.
func (fs *fileState) pending() bool {
	return fs.merger.Pending() || (fs.joiner != nil && fs.joiner.Pending())
}

func (f *follower) newJoiner() *multiline.Joiner {
	if f.r.cfg.Multiline != "auto" {
		return nil
	}
	return multiline.New(int(f.r.cfg.MaxLogSize), multilineTimeout)
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// open starts following a file at the offset its checkpoint, start_at or its
// novelty says.
func (f *follower) open(t discovery.Target, id tail.Identity) *fileState {
	file, err := openFile(t.Real)
	if err != nil {
		f.problem(context.Background(), t.Real, "Cannot open log file; retrying at every rescan", err)
		return nil
	}
	if file.Identity() != id {
		// Rotated again since the scan looked; the next scan follows the chain.
		_ = file.Close()
		return nil
	}
	fs := &fileState{
		file: file, id: id, target: t,
		parser: parse.NewParser(f.format),
		merger: parse.NewMerger(int(f.r.cfg.MaxLogSize)),
		joiner: f.newJoiner(),
		dirty:  true,
	}
	fs.fp, _ = file.Fingerprint(fingerprintSize)
	size, _ := file.Size()
	var start int64
	if e, ok := f.saved[id]; ok && bytes.HasPrefix(fs.fp, e.Fingerprint) && e.Offset <= size {
		start = e.Offset
	} else if f.firstRun && !f.store.Resumed() && f.r.cfg.StartAt == startAtEnd {
		start = size
	}
	delete(f.saved, id)
	if err := file.SetOffset(start); err != nil {
		f.problem(context.Background(), t.Real, "Cannot seek log file", err)
		_ = file.Close()
		return nil
	}
	fs.safe, fs.committed, fs.lastSize = start, start, size
	if rate := f.r.cfg.RateLimitPerContainer; rate > 0 {
		if f.buckets[t.Path] == nil {
			f.buckets[t.Path] = newBucket(rate, time.Now())
		}
		fs.bucket = f.buckets[t.Path]
	}
	f.files = append(f.files, fs)
	f.byReal[t.Real] = fs
	f.byID[id] = fs
	f.r.tel.LoggyFilesTracked.Add(context.Background(), 1)
	delete(f.warned, t.Real)
	return fs
}

func (f *follower) markGone(ctx context.Context, fs *fileState) {
	if fs.gone {
		return
	}
	fs.gone = true
	if f.byReal[fs.target.Real] == fs {
		delete(f.byReal, fs.target.Real)
	}
	f.r.tel.LoggyRotations.Add(ctx, 1)
}

// checkTruncated restarts a file from 0 when it shrank below the read offset or
// its first bytes changed (copytruncate, possibly already written again).
func (f *follower) checkTruncated(ctx context.Context, fs *fileState) {
	size, err := fs.file.Size()
	if err != nil || size == fs.lastSize {
		return // unchanged since the last rescan: an idle file costs one fstat
	}
	truncated := size < fs.file.Offset()
	if !truncated && len(fs.fp) > 0 {
		now, err := fs.file.Fingerprint(len(fs.fp))
		truncated = err == nil && !bytes.Equal(now, fs.fp)
	}
	if len(fs.fp) < fingerprintSize && size > int64(len(fs.fp)) {
		fs.fp, _ = fs.file.Fingerprint(fingerprintSize)
	}
	if !truncated {
		return
	}
	// Lines already in the batch were read from the old content; deliver them
	// before the offset goes back.
	f.flush(ctx)
	if err := fs.file.SetOffset(0); err != nil {
		f.problem(ctx, fs.target.Real, "Cannot seek log file", err)
		return
	}
	fs.merger.Reset()
	fs.joiner = f.newJoiner()
	fs.safe, fs.committed = 0, 0
	fs.fp, _ = fs.file.Fingerprint(fingerprintSize)
	fs.dirty = true
	f.r.tel.LoggyRotations.Add(ctx, 1)
}

// readAll reads every dirty file round-robin, a budget at a time, until all are
// at their end, then hands on what it collected.
//
// Between rounds it takes in new file events, and rescans when events ask for
// it or a poll interval has passed, so a file that starts growing while
// another floods joins the rotation at once instead of after the flood.
func (f *follower) readAll(ctx context.Context) {
	for more := true; more && ctx.Err() == nil; {
		more = false
		for _, fs := range append([]*fileState(nil), f.files...) {
			if fs.dirty {
				f.readFile(ctx, fs)
				more = more || fs.dirty
			}
		}
		if !more {
			break
		}
		rescan := time.Since(f.lastScan) >= f.r.cfg.PollInterval
		if f.watcher != nil {
			select {
			case <-f.watcher.C():
				rescan = f.takeEvents() || rescan
			default:
			}
		}
		if rescan {
			f.rescan(ctx)
		}
	}
	f.flush(ctx)
}

// drain reads fs to its current end.
func (f *follower) drain(ctx context.Context, fs *fileState) {
	fs.dirty = true
	for fs.dirty && ctx.Err() == nil {
		f.readFile(ctx, fs)
	}
}

func (f *follower) readFile(ctx context.Context, fs *fileState) {
	now := time.Now()
	n, err := fs.file.ReadLines(readBudget, f.maxLine, func(line []byte, end int64, tooLong bool) {
		f.line(ctx, fs, line, end, tooLong, now)
	})
	if n > 0 {
		f.r.tel.LoggyBytesRead.Add(ctx, int64(n))
		f.r.tel.LoggyLinesRead.Add(ctx, f.linesRead) // once per read, not per line: the hot path
		f.linesRead = 0
	}
	switch {
	case err == nil:
		fs.atEOF = false
	case errors.Is(err, io.EOF):
		fs.dirty, fs.atEOF = false, true
	default:
		fs.dirty = false
		f.problem(ctx, fs.target.Real, "Cannot read log file", err)
	}
}

// line turns one physical line into zero or one record.
func (f *follower) line(ctx context.Context, fs *fileState, raw []byte, end int64, tooLong bool, now time.Time) {
	f.linesRead++
	l, err := fs.parser.Parse(raw)
	if err != nil {
		f.r.tel.LoggyParseErrors.Add(ctx, 1)
		rec := parse.Record{Body: raw, Truncated: tooLong}
		if max := int(f.r.cfg.MaxLogSize); len(rec.Body) > max {
			rec.Body, rec.Truncated = rec.Body[:max], true
		}
		f.add(ctx, fs, rec, err.Error(), now)
	} else {
		if tooLong {
			l.Partial = false // the rest of this line was skipped; end the record here
		}
		if rec, ok := fs.merger.Add(l); ok {
			rec.Truncated = rec.Truncated || tooLong
			f.complete(ctx, fs, rec, now)
		}
	}
	fs.lastEnd = end
	if !fs.pending() {
		fs.safe = end
	}
	if f.batch.full() {
		f.flush(ctx)
	}
}

// complete takes a whole record (split lines joined) through multiline
// joining, when that is on, to the batch.
func (f *follower) complete(ctx context.Context, fs *fileState, rec parse.Record, now time.Time) {
	if fs.joiner == nil {
		f.add(ctx, fs, rec, "", now)
		return
	}
	fs.joiner.Add(rec, now, func(r parse.Record) { f.add(ctx, fs, r, "", now) })
}

// expire releases the traces that waited long enough for more lines, and
// says when to look again.
func (f *follower) expire(ctx context.Context, now time.Time) (next time.Time) {
	for _, fs := range f.files {
		if fs.joiner == nil || !fs.joiner.Pending() {
			continue
		}
		fs.joiner.Expire(now, func(r parse.Record) { f.add(ctx, fs, r, "", now) })
		if !fs.pending() {
			fs.safe = fs.lastEnd
			f.batch.touch(fs)
		}
		if t := fs.joiner.Next(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

func (f *follower) add(ctx context.Context, fs *fileState, rec parse.Record, parseErr string, now time.Time) {
	if f.excluded(fs) {
		return // annotated loggy.io/exclude: "true"
	}
	if b := fs.bucket; b != nil && !b.allow(now) {
		f.r.tel.LoggyRecordsShed.Add(ctx, 1)
		if now.Sub(b.warned) >= time.Minute {
			f.r.set.Logger.Warn("Container writes faster than rate_limit_per_container; dropping records",
				zap.String("path", fs.target.Path), zap.Int64("dropped", b.shed))
			b.warned, b.shed = now, 0
		}
		return
	}
	if rec.Truncated {
		f.r.tel.LoggyLinesTruncated.Add(ctx, 1)
	}
	if f.batch.add(fs, rec, parseErr, now) {
		f.r.tel.LoggyInvalidUtf8.Add(ctx, 1)
	}
}

// finish closes a drained gone file, delivering a last line that had no
// newline and any split line it ended in.
func (f *follower) finish(ctx context.Context, fs *fileState) {
	now := time.Now()
	fs.file.Rest(func(line []byte, end int64) {
		f.line(ctx, fs, line, end, false, now)
	})
	fs.merger.Flush(func(rec parse.Record) { f.complete(ctx, fs, rec, now) })
	if fs.joiner != nil {
		fs.joiner.Flush(func(rec parse.Record) { f.add(ctx, fs, rec, "", now) })
	}
	fs.safe = fs.file.Offset()
	f.batch.touch(fs)
	f.flush(ctx)
	if fs.committed < fs.safe {
		return // not delivered (shutting down); keep it for the next run
	}
	_ = fs.file.Close()
	for i, x := range f.files {
		if x == fs {
			f.files = append(f.files[:i], f.files[i+1:]...)
			break
		}
	}
	delete(f.byID, fs.id)
	if f.byReal[fs.target.Real] == fs {
		delete(f.byReal, fs.target.Real)
	}
	f.removed = append(f.removed, fs.id)
	if !slices.ContainsFunc(f.files, func(x *fileState) bool { return x.target.Path == fs.target.Path }) {
		delete(f.buckets, fs.target.Path)
	}
	f.commitCheckpoints(ctx, nil)
	f.r.tel.LoggyFilesTracked.Add(ctx, -1)
}

func (f *follower) closeAll() {
	for _, fs := range f.files {
		_ = fs.file.Close()
		f.r.tel.LoggyFilesTracked.Add(context.Background(), -1)
	}
	f.files = nil
	if f.watcher != nil {
		_ = f.watcher.Close()
	}
}

// flush hands the batch on; offsets advance only once it was accepted.
func (f *follower) flush(ctx context.Context) {
	if f.batch.empty() || ctx.Err() != nil {
		return
	}
	files, ok := f.batch.send(ctx)
	if !ok {
		return
	}
	for _, fs := range files {
		fs.committed = fs.safe
	}
	f.commitCheckpoints(ctx, files)
}

func (f *follower) commitCheckpoints(ctx context.Context, files []*fileState) {
	if f.r.client == nil {
		f.removed = f.removed[:0]
		return
	}
	entries := make([]checkpoint.Entry, 0, len(files))
	for _, fs := range files {
		entries = append(entries, checkpoint.Entry{
			Dev: fs.id.Dev, Ino: fs.id.Ino, Path: fs.target.Real,
			Offset: fs.committed, Fingerprint: fs.fp,
		})
	}
	removed := make([]checkpoint.Key, 0, len(f.removed))
	for _, id := range f.removed {
		removed = append(removed, checkpoint.Key{Dev: id.Dev, Ino: id.Ino})
	}
	if len(entries) == 0 && len(removed) == 0 {
		return
	}
	if err := f.store.Commit(ctx, entries, removed); err != nil {
		f.r.set.Logger.Warn("Cannot write checkpoints; a restart may repeat lines", zap.Error(err))
		return
	}
	f.removed = f.removed[:0]
	f.r.tel.LoggyCheckpointCommits.Add(ctx, 1)
}

// problem logs and counts a file that cannot be followed, once until it is
// resolved, so a persistent problem does not flood the log every rescan.
func (f *follower) problem(ctx context.Context, key, msg string, err error) {
	if f.warned[key] {
		return
	}
	f.warned[key] = true
	f.r.tel.LoggyReadErrors.Add(ctx, 1)
	f.r.set.Logger.Warn(msg, zap.String("path", key), zap.Error(err))
}
