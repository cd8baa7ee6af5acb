package loggyreceiver

import (
	"context"
	"errors"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/body"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8smeta"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8spath"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/metadata"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
)

const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 5 * time.Second
	// maxBatchBytes bounds the text one batch holds, so memory stays bounded
	// while the next consumer refuses, whatever max_log_size is.
	maxBatchBytes = 4 << 20
	arenaChunk    = 64 << 10
)

// batch collects records, one ResourceLogs per file, until it is handed on.
type batch struct {
	r       *logsReceiver
	logs    plog.Logs
	count   int
	bytes   int
	files   []*fileState // files with lines in this batch, whose offsets advance on success
	slices  map[*fileState]plog.LogRecordSlice
	lastFS  *fileState
	last    plog.LogRecordSlice
	utf8buf []byte
	arena   []byte // backs the bodies' strings; never written below its length
	mode    body.Mode
}

func newBatch(r *logsReceiver) *batch {
	mode, _ := body.ParseMode(r.cfg.ParseBody) // checked by Validate
	b := &batch{r: r, mode: mode}
	b.reset()
	return b
}

func (b *batch) reset() {
	b.logs = plog.NewLogs()
	b.count, b.bytes = 0, 0
	b.arena = nil // the sent batch's strings still point into the old one
	b.files = b.files[:0]
	b.slices = map[*fileState]plog.LogRecordSlice{}
	b.lastFS = nil
}

func (b *batch) empty() bool { return len(b.files) == 0 }
func (b *batch) full() bool {
	return b.count >= b.r.cfg.MaxBatchSize || b.bytes >= maxBatchBytes
}

// touch marks fs as part of this batch, so its offset advances with it.
func (b *batch) touch(fs *fileState) plog.LogRecordSlice {
	if fs == b.lastFS {
		return b.last
	}
	s, ok := b.slices[fs]
	if !ok {
		rl := b.logs.ResourceLogs().AppendEmpty()
		putResource(rl.Resource().Attributes(), fs.target.Meta)
		if b.r.meta != nil {
			if m, ok := b.r.meta.Lookup(fs.target.Meta.PodUID); ok {
				k8smeta.PutResource(rl.Resource().Attributes(), m)
			}
		}
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(metadata.ScopeName)
		sl.Scope().SetVersion(b.r.set.BuildInfo.Version)
		s = sl.LogRecords()
		b.slices[fs] = s
		b.files = append(b.files, fs)
	}
	b.lastFS, b.last = fs, s
	return s
}

// add appends one record; it reports whether its text had to be repaired
// because it was not valid UTF-8.
func (b *batch) add(fs *fileState, rec parse.Record, parseErr string, now time.Time) (invalidUTF8 bool) {
	lr := b.touch(fs).AppendEmpty()
	b.count++
	if rec.Time != 0 {
		lr.SetTimestamp(pcommon.Timestamp(rec.Time))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	body, invalidUTF8 := parse.ValidUTF8(b.utf8buf[:0], rec.Body)
	if invalidUTF8 {
		b.utf8buf = body
	}
	lvl := parse.LevelUnknown
	if !b.structured(lr, body, parseErr, &lvl) {
		lr.Body().SetStr(b.str(body))
		lvl = parse.DetectLevel(body)
	}
	b.bytes += len(body)
	attrs := lr.Attributes()
	if s := rec.Stream.String(); s != "" {
		attrs.PutStr("log.iostream", s)
	}
	if b.r.cfg.IncludeFilePath {
		attrs.PutStr("log.file.path", fs.target.Real)
	}
	if parseErr != "" {
		attrs.PutStr("log.parse_error", parseErr)
	}
	if rec.Truncated {
		attrs.PutBool("log.truncated", true)
	}
	if invalidUTF8 {
		attrs.PutBool("log.invalid_utf8", true)
	}
	setSeverity(lr, lvl, rec.Stream, b.r.cfg.SeverityFromStream)
	return invalidUTF8
}

// structured makes the body a map when parse_body is on and the text is a JSON
// object or logfmt, and takes level, time and trace context from it. Text that
// is neither stays text.
func (b *batch) structured(lr plog.LogRecord, text []byte, parseErr string, lvl *parse.Level) bool {
	if b.mode == body.None || parseErr != "" {
		return false
	}
	m, found, ok := body.Parse(b.mode, text)
	if !ok || lr.Body().SetEmptyMap().FromRaw(m) != nil {
		return false
	}
	*lvl = found.Level
	if found.Time != 0 {
		lr.SetTimestamp(pcommon.Timestamp(found.Time))
	}
	if found.HasTrace {
		lr.SetTraceID(pcommon.TraceID(found.TraceID))
	}
	if found.HasSpan {
		lr.SetSpanID(pcommon.SpanID(found.SpanID))
	}
	return true
}

// str copies p into the arena and returns it as a string: one allocation per
// 64 KiB of text instead of one per record.
func (b *batch) str(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if cap(b.arena)-len(b.arena) < len(p) {
		b.arena = make([]byte, 0, max(arenaChunk, len(p)))
	}
	start := len(b.arena)
	b.arena = append(b.arena, p...)
	return unsafe.String(&b.arena[start], len(p))
}

// send hands the batch to the next consumer. Refusals that may pass later
// (memory_limiter, a full exporter queue) are retried with backoff, which also
// pauses reading; permanent errors are logged and the batch is dropped. It
// returns the files whose offsets may advance, or false if it gave up because
// the receiver is stopping.
func (b *batch) send(ctx context.Context) ([]*fileState, bool) {
	if b.count > 0 {
		logs, count := b.logs, b.count
		for wait := retryFirst; ; wait = min(2*wait, retryMax) {
			octx := b.r.obs.StartLogsOp(ctx)
			err := b.r.next.ConsumeLogs(octx, logs)
			b.r.obs.EndLogsOp(octx, "loggy", count, err)
			if err == nil {
				break
			}
			if consumererror.IsPermanent(err) {
				b.r.set.Logger.Error("Dropping log records the next consumer refused permanently",
					zap.Int("records", count), zap.Error(err))
				break
			}
			var partial consumererror.Logs
			if errors.As(err, &partial) {
				logs = partial.Data()
				count = logs.LogRecordCount()
			}
			b.r.set.Logger.Debug("Next consumer refused log records; retrying", zap.Duration("in", wait), zap.Error(err))
			select {
			case <-ctx.Done():
				return nil, false
			case <-time.After(wait):
			}
		}
	}
	files := append([]*fileState(nil), b.files...)
	b.reset()
	return files, true
}

func putResource(m pcommon.Map, meta k8spath.Meta) {
	put := func(k, v string) {
		if v != "" {
			m.PutStr(k, v)
		}
	}
	put("k8s.namespace.name", meta.Namespace)
	put("k8s.pod.name", meta.PodName)
	put("k8s.pod.uid", meta.PodUID)
	put("k8s.container.name", meta.ContainerName)
	if meta.RestartCount >= 0 {
		m.PutInt("k8s.container.restart_count", int64(meta.RestartCount))
	}
	put("container.id", meta.ContainerID)
}

var levels = [...]struct {
	num  plog.SeverityNumber
	text string
}{
	parse.LevelTrace: {plog.SeverityNumberTrace, "TRACE"},
	parse.LevelDebug: {plog.SeverityNumberDebug, "DEBUG"},
	parse.LevelInfo:  {plog.SeverityNumberInfo, "INFO"},
	parse.LevelWarn:  {plog.SeverityNumberWarn, "WARN"},
	parse.LevelError: {plog.SeverityNumberError, "ERROR"},
	parse.LevelFatal: {plog.SeverityNumberFatal, "FATAL"},
}

// setSeverity prefers a level the application wrote; otherwise, if asked, it
// falls back to the stream as the original Loggy did.
func setSeverity(lr plog.LogRecord, lvl parse.Level, stream parse.Stream, fromStream bool) {
	if lvl == parse.LevelUnknown && fromStream {
		switch stream {
		case parse.Stdout:
			lvl = parse.LevelInfo
		case parse.Stderr:
			lvl = parse.LevelError
		}
	}
	if lvl == parse.LevelUnknown || int(lvl) >= len(levels) {
		return
	}
	lr.SetSeverityNumber(levels[lvl].num)
	lr.SetSeverityText(levels[lvl].text)
}
