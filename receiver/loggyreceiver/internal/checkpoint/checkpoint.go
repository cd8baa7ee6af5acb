// Package checkpoint keeps per-file read offsets in a storage extension, so a
// restarted receiver resumes where delivery stood.
package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Key is a file's identity (device and inode), the same as tail.Identity; it
// is its own type so this package does not depend on the reader.
type Key struct{ Dev, Ino uint64 }

// Entry is where reading of one file stands.
type Entry struct {
	Dev, Ino uint64
	// Path is the file's real path when last seen; a rotated file is found
	// again by identity, not by name.
	Path string
	// Offset is committed: every line before it was accepted by the next
	// consumer.
	Offset int64
	// Fingerprint is the file's first bytes (up to 1 KiB), to detect inode
	// reuse.
	Fingerprint []byte
}

// Key returns the entry's identity.
func (e Entry) Key() Key { return Key{e.Dev, e.Ino} }

const (
	// A client has no key listing, so the set of entries is kept under one
	// key of its own.
	indexKey    = "index"
	entryPrefix = "file."
	version     = 1
)

func entryKey(k Key) string {
	return entryPrefix + strconv.FormatUint(k.Dev, 10) + "." + strconv.FormatUint(k.Ino, 10)
}

// Store reads and writes entries. It is not safe for concurrent use.
type Store struct {
	client storage.Client
	known  map[Key]struct{} // identities in the stored index
	stale  []Key            // unreadable entries found by Load, deleted at the next Commit
	dirty  bool             // the stored index differs from known
	found  bool             // Load found an index: an earlier run used this storage
}

// Resumed reports whether Load found checkpoints of an earlier run (possibly
// none left), so files without one are new and read whole, whatever start_at says.
func (s *Store) Resumed() bool { return s.found }

// New wraps a client; a nil client gives a Store that keeps nothing (Load
// returns none, Commit is a no-op) for receivers without storage.
func New(client storage.Client) *Store {
	return &Store{client: client, known: map[Key]struct{}{}}
}

// Load returns all stored entries. Entries whose data is missing or corrupt are
// skipped and reported in the error; the rest are returned. The skipped ones
// are deleted at the next Commit.
func (s *Store) Load(ctx context.Context) ([]Entry, error) {
	if s.client == nil {
		return nil, nil
	}
	raw, err := s.client.Get(ctx, indexKey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read index: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	s.found = true
	keys, err := decodeIndex(raw)
	if err != nil {
		// Entries cannot be found without the index; start over.
		s.dirty = true
		return nil, fmt.Errorf("checkpoint: index: %w", err)
	}
	ops := make([]*storage.Operation, len(keys))
	for i, k := range keys {
		ops[i] = storage.GetOperation(entryKey(k))
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		// The caller goes on as if there were none, and commits its own.
		s.stale, s.dirty = keys, true
		return nil, fmt.Errorf("checkpoint: read entries: %w", err)
	}
	var errs []error
	entries := make([]Entry, 0, len(keys))
	for i, k := range keys {
		e, err := decodeEntry(ops[i].Value)
		if err == nil && e.Key() != k {
			err = errors.New("identity does not match its key")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: entry %d:%d: %w", k.Dev, k.Ino, err))
			s.stale = append(s.stale, k)
			s.dirty = true
			continue
		}
		s.known[k] = struct{}{}
		entries = append(entries, e)
	}
	return entries, errors.Join(errs...)
}

// Commit writes set and deletes removed in one Batch call, so a commit is one
// storage transaction. The index is rewritten only when the set of identities
// changed. An identity both in set and in removed is kept: removed may be
// older news than set (an inode reused by a new file).
func (s *Store) Commit(ctx context.Context, set []Entry, removed []Key) error {
	if s.client == nil {
		return nil
	}
	keep := make(map[Key]struct{}, len(set))
	ops := make([]*storage.Operation, 0, len(set)+len(removed)+len(s.stale)+1)
	changed := s.dirty
	for _, e := range set {
		k := e.Key()
		keep[k] = struct{}{}
		ops = append(ops, storage.SetOperation(entryKey(k), encodeEntry(e)))
		if _, ok := s.known[k]; !ok {
			changed = true
		}
	}
	var gone []Key
	for _, list := range [][]Key{removed, s.stale} {
		for _, k := range list {
			if _, ok := keep[k]; ok {
				continue
			}
			ops = append(ops, storage.DeleteOperation(entryKey(k)))
			gone = append(gone, k)
			if _, ok := s.known[k]; ok {
				changed = true
			}
		}
	}
	var next map[Key]struct{}
	if changed {
		next = make(map[Key]struct{}, len(s.known)+len(keep))
		for k := range s.known {
			next[k] = struct{}{}
		}
		for k := range keep {
			next[k] = struct{}{}
		}
		for _, k := range gone {
			delete(next, k)
		}
		ops = append(ops, storage.SetOperation(indexKey, encodeIndex(next)))
	}
	if len(ops) == 0 {
		return nil
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("checkpoint: commit: %w", err)
	}
	if changed {
		s.known, s.dirty = next, false
	}
	s.stale = nil
	return nil
}

// The encodings are a version byte followed by uvarints (and varint-length
// byte strings): small, and cheap to check for garbage.

func encodeIndex(keys map[Key]struct{}) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64*(1+2*len(keys)))
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for k := range keys {
		b = binary.AppendUvarint(b, k.Dev)
		b = binary.AppendUvarint(b, k.Ino)
	}
	return b
}

func decodeIndex(b []byte) ([]Key, error) {
	d := decoder{b: b}
	d.version()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(b)) { // each key takes at least 2 bytes
		d.fail("bad count")
	}
	keys := make([]Key, 0, min(n, uint64(len(b)/2)))
	for i := uint64(0); i < n && d.err == nil; i++ {
		keys = append(keys, Key{Dev: d.uvarint(), Ino: d.uvarint()})
	}
	return keys, d.end()
}

func encodeEntry(e Entry) []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+len(e.Path)+len(e.Fingerprint))
	b = append(b, version)
	b = binary.AppendUvarint(b, e.Dev)
	b = binary.AppendUvarint(b, e.Ino)
	b = binary.AppendVarint(b, e.Offset)
	b = binary.AppendUvarint(b, uint64(len(e.Path)))
	b = append(b, e.Path...)
	b = binary.AppendUvarint(b, uint64(len(e.Fingerprint)))
	b = append(b, e.Fingerprint...)
	return b
}

func decodeEntry(b []byte) (Entry, error) {
	if b == nil {
		return Entry{}, errors.New("missing")
	}
	d := decoder{b: b}
	d.version()
	e := Entry{Dev: d.uvarint(), Ino: d.uvarint(), Offset: d.varint()}
	e.Path = string(d.bytes())
	if fp := d.bytes(); len(fp) > 0 {
		e.Fingerprint = append([]byte(nil), fp...) // the client may reuse b
	}
	if d.err == nil && e.Offset < 0 {
		d.fail("negative offset")
	}
	return e, d.end()
}

// decoder reads fields until the first error, which sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = errors.New(msg)
	}
	d.b = nil
}

func (d *decoder) version() {
	if len(d.b) == 0 || d.b[0] != version {
		d.fail("unknown version")
		return
	}
	d.b = d.b[1:]
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail("trailing bytes")
	}
	return d.err
}
