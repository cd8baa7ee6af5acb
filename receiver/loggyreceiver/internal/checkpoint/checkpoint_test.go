package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClient is a map that records every Batch call and can be made to fail.
type fakeClient struct {
	data    map[string][]byte
	batches [][]storage.Operation
	fail    error
}

func newFake() *fakeClient { return &fakeClient{data: map[string][]byte{}} }

func (c *fakeClient) Get(_ context.Context, key string) ([]byte, error) {
	if c.fail != nil {
		return nil, c.fail
	}
	return bytes.Clone(c.data[key]), nil
}

func (c *fakeClient) Set(_ context.Context, key string, value []byte) error {
	c.data[key] = bytes.Clone(value)
	return nil
}

func (c *fakeClient) Delete(_ context.Context, key string) error {
	delete(c.data, key)
	return nil
}

func (c *fakeClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	rec := make([]storage.Operation, len(ops))
	for i, op := range ops {
		rec[i] = *op
	}
	c.batches = append(c.batches, rec)
	if c.fail != nil {
		return c.fail
	}
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = bytes.Clone(c.data[op.Key])
		case storage.Set:
			c.data[op.Key] = bytes.Clone(op.Value)
		case storage.Delete:
			delete(c.data, op.Key)
		}
	}
	return nil
}

func (c *fakeClient) Close(context.Context) error { return nil }

// indexWrites counts the index rewrites in the last Batch call.
func (c *fakeClient) indexWrites() int {
	n := 0
	for _, op := range c.batches[len(c.batches)-1] {
		if op.Key == indexKey && op.Type == storage.Set {
			n++
		}
	}
	return n
}

func entry(ino uint64, off int64) Entry {
	return Entry{Dev: 2049, Ino: ino, Path: "/var/log/pods/ns_pod_uid/c/0.log", Offset: off, Fingerprint: []byte("2026-01-01T00:00:00Z stdout F hello")}
}

func sorted(es []Entry) []Entry {
	slices.SortFunc(es, func(a, b Entry) int { return int(a.Ino) - int(b.Ino) })
	return es
}

func equalEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	got, want = sorted(slices.Clone(got)), sorted(slices.Clone(want))
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Dev != w.Dev || g.Ino != w.Ino || g.Path != w.Path || g.Offset != w.Offset || !bytes.Equal(g.Fingerprint, w.Fingerprint) {
			t.Fatalf("entry %d: got %+v, want %+v", i, g, w)
		}
	}
}

func load(t *testing.T, c storage.Client) ([]Entry, *Store) {
	t.Helper()
	s := New(c)
	es, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return es, s
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newFake()
	s := New(c)
	if es, err := s.Load(ctx); err != nil || len(es) != 0 {
		t.Fatalf("empty storage: %v %v", es, err)
	}
	big := Entry{Dev: 1<<64 - 1, Ino: 1<<64 - 1, Path: strings.Repeat("p", 4096), Offset: 1<<63 - 1, Fingerprint: bytes.Repeat([]byte{0, 0xff}, 512)}
	want := []Entry{entry(1, 0), entry(2, 12345), big, {Dev: 0, Ino: 3}}
	if err := s.Commit(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := load(t, c)
	equalEntries(t, got, want)
}

func TestOneBatchPerCommitAndIndexOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	c := newFake()
	s := New(c)
	steps := []struct {
		name       string
		set        []Entry
		removed    []Key
		batches    int // Batch calls this step adds
		indexWrite int
		want       []Entry // stored after the step
	}{
		{"first", []Entry{entry(1, 10), entry(2, 20)}, nil, 1, 1, []Entry{entry(1, 10), entry(2, 20)}},
		{"offsets move", []Entry{entry(1, 11), entry(2, 21)}, nil, 1, 0, []Entry{entry(1, 11), entry(2, 21)}},
		{"one file only", []Entry{entry(2, 22)}, nil, 1, 0, []Entry{entry(1, 11), entry(2, 22)}},
		{"new file", []Entry{entry(3, 30)}, nil, 1, 1, []Entry{entry(1, 11), entry(2, 22), entry(3, 30)}},
		{"removal", nil, []Key{{2049, 1}}, 1, 1, []Entry{entry(2, 22), entry(3, 30)}},
		{"remove unknown", nil, []Key{{2049, 99}}, 1, 0, []Entry{entry(2, 22), entry(3, 30)}},
		{"set and remove", []Entry{entry(4, 40)}, []Key{{2049, 3}}, 1, 1, []Entry{entry(2, 22), entry(4, 40)}},
		{"set wins over removed", []Entry{entry(2, 23)}, []Key{{2049, 2}}, 1, 0, []Entry{entry(2, 23), entry(4, 40)}},
		{"nothing", nil, nil, 0, 0, []Entry{entry(2, 23), entry(4, 40)}},
	}
	for _, st := range steps {
		before := len(c.batches)
		if err := s.Commit(ctx, st.set, st.removed); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n := len(c.batches) - before; n != st.batches {
			t.Fatalf("%s: %d Batch calls, want %d", st.name, n, st.batches)
		}
		if st.batches > 0 && c.indexWrites() != st.indexWrite {
			t.Fatalf("%s: %d index writes, want %d", st.name, c.indexWrites(), st.indexWrite)
		}
		got, _ := load(t, c)
		equalEntries(t, got, st.want)
	}
	// Removed entries are gone from storage, not only from the index.
	if _, ok := c.data[entryKey(Key{2049, 1})]; ok {
		t.Fatal("removed entry still stored")
	}
	if len(c.data) != 3 { // index + 2 entries
		t.Fatalf("stored keys: %d", len(c.data))
	}
}

func TestCommitFailureRetriesIndex(t *testing.T) {
	ctx := context.Background()
	c := newFake()
	s := New(c)
	c.fail = errors.New("disk full")
	if err := s.Commit(ctx, []Entry{entry(1, 1)}, nil); err == nil {
		t.Fatal("no error")
	}
	c.fail = nil
	// The set change did not land, so the next commit must write the index.
	if err := s.Commit(ctx, []Entry{entry(1, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	if c.indexWrites() != 1 {
		t.Fatal("index not written after a failed commit")
	}
	got, _ := load(t, c)
	equalEntries(t, got, []Entry{entry(1, 2)})
}

func TestCorrupt(t *testing.T) {
	ctx := context.Background()
	good := encodeEntry(entry(1, 5))
	tests := []struct {
		name  string
		value []byte // stored under entry 2's key; nil: not stored
	}{
		{"missing", nil},
		{"empty", []byte{}},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"truncated", encodeEntry(entry(2, 5))[:10]},
		{"trailing", append(encodeEntry(entry(2, 5)), 0)},
		{"other identity", encodeEntry(entry(7, 5))},
		{"negative offset", encodeEntry(Entry{Dev: 2049, Ino: 2, Offset: -1})},
		{"json", []byte(`{"offset":5}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake()
			if err := New(c).Commit(ctx, []Entry{entry(1, 5), entry(2, 6)}, nil); err != nil {
				t.Fatal(err)
			}
			if tt.value == nil {
				delete(c.data, entryKey(Key{2049, 2}))
			} else {
				c.data[entryKey(Key{2049, 2})] = tt.value
			}
			s := New(c)
			got, err := s.Load(ctx)
			if err == nil || !strings.Contains(err.Error(), "2049:2") {
				t.Fatalf("error %v", err)
			}
			equalEntries(t, got, []Entry{entry(1, 5)})
			// The next commit drops the bad entry from storage and index.
			if err := s.Commit(ctx, []Entry{entry(1, 6)}, nil); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.data[entryKey(Key{2049, 2})]; ok {
				t.Fatal("bad entry kept")
			}
			got, _ = load(t, c)
			equalEntries(t, got, []Entry{entry(1, 6)})
		})
	}
}

func TestCorruptIndex(t *testing.T) {
	ctx := context.Background()
	for _, garbage := range [][]byte{{}, {version}, {version, 200}, {version, 1, 5}, {version, 0, 0}, []byte("garbage"), {7, 0}} {
		c := newFake()
		c.data[indexKey] = garbage
		s := New(c)
		got, err := s.Load(ctx)
		if err == nil || len(got) != 0 {
			t.Fatalf("%q: %v %v", garbage, got, err)
		}
		if err := s.Commit(ctx, []Entry{entry(1, 1)}, nil); err != nil {
			t.Fatal(err)
		}
		got, _ = load(t, c)
		equalEntries(t, got, []Entry{entry(1, 1)})
	}
}

func TestLoadReadError(t *testing.T) {
	ctx := context.Background()
	c := newFake()
	if err := New(c).Commit(ctx, []Entry{entry(1, 1)}, nil); err != nil {
		t.Fatal(err)
	}
	c.fail = errors.New("io error")
	s := New(c)
	if got, err := s.Load(ctx); err == nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
	c.fail = nil
	if err := s.Commit(ctx, []Entry{entry(2, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := load(t, c)
	equalEntries(t, got, []Entry{entry(2, 2)})
}

func TestNilClient(t *testing.T) {
	ctx := context.Background()
	s := New(nil)
	if err := s.Commit(ctx, []Entry{entry(1, 1)}, []Key{{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx); err != nil || got != nil {
		t.Fatalf("%v %v", got, err)
	}
}

// FuzzDecode checks that no stored garbage makes Load panic, and that what
// decodes survives another round trip.
func FuzzDecode(f *testing.F) {
	f.Add(encodeEntry(entry(1, 5)))
	f.Add(encodeIndex(map[Key]struct{}{{1, 2}: {}, {3, 4}: {}}))
	f.Add([]byte{version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := decodeEntry(b); err == nil {
			again, err := decodeEntry(encodeEntry(e))
			if err != nil || again.Key() != e.Key() || again.Path != e.Path || again.Offset != e.Offset || !bytes.Equal(again.Fingerprint, e.Fingerprint) {
				t.Fatalf("%+v changed in a round trip: %+v %v", e, again, err)
			}
		}
		_, _ = decodeIndex(b)
	})
}

// A file-backed test extension: commit, close, open again, load.
func TestFileBackedStorageExtension(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	id := component.MustNewID("loggy")
	open := func() storage.Client {
		c, err := storagetest.NewFileBackedStorageExtension("test", dir).GetClient(ctx, component.KindReceiver, id, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := open()
	s := New(c)
	if err := s.Commit(ctx, []Entry{entry(1, 10), entry(2, 20)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, []Entry{entry(1, 11)}, []Key{{2049, 2}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c = open()
	defer c.Close(ctx)
	got, _ := load(t, c)
	equalEntries(t, got, []Entry{entry(1, 11)})
}

// The real file_storage extension (bbolt), as the receiver uses it.
func TestFileStorageBbolt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := filestorage.NewFactory()
	id := component.MustNewID("loggy")
	run := func(fn func(storage.Client)) {
		cfg := f.CreateDefaultConfig().(*filestorage.Config)
		cfg.Directory = dir
		ext, err := f.Create(ctx, extensiontest.NewNopSettings(f.Type()), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := ext.Start(ctx, componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
		c, err := ext.(storage.Extension).GetClient(ctx, component.KindReceiver, id, "")
		if err != nil {
			t.Fatal(err)
		}
		fn(c)
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ext.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run(func(c storage.Client) {
		s := New(c)
		if err := s.Commit(ctx, []Entry{entry(1, 10), entry(2, 20), entry(3, 30)}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, []Entry{entry(1, 11)}, []Key{{2049, 2}}); err != nil {
			t.Fatal(err)
		}
	})
	run(func(c storage.Client) {
		got, s := load(t, c)
		equalEntries(t, got, []Entry{entry(1, 11), entry(3, 30)})
		if err := s.Commit(ctx, nil, []Key{{2049, 1}}); err != nil {
			t.Fatal(err)
		}
	})
	run(func(c storage.Client) {
		got, _ := load(t, c)
		equalEntries(t, got, []Entry{entry(3, 30)})
	})
}

// Resumed tells a restart (an index exists, even an empty one) from a first start.
func TestResumed(t *testing.T) {
	ctx := context.Background()
	c := newFake()
	first := New(c)
	if _, err := first.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if first.Resumed() {
		t.Fatal("empty storage must not count as resumed")
	}
	if err := first.Commit(ctx, []Entry{entry(1, 10)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := first.Commit(ctx, nil, []Key{entry(1, 10).Key()}); err != nil {
		t.Fatal(err)
	}
	second := New(c)
	entries, err := second.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 || !second.Resumed() {
		t.Fatalf("after a run that left no files: entries=%v resumed=%v, want none and true", entries, second.Resumed())
	}
	if New(nil).Resumed() {
		t.Fatal("no storage is never resumed")
	}
}
