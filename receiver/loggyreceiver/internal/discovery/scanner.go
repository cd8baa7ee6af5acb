// Package discovery finds the container log files to follow and tells when
// they change.
package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8spath"
)

// maxHops bounds a symlink chain, as the kernel does (ELOOP after 40).
const maxHops = 40

// Options select the files to follow.
type Options struct {
	Include, Exclude []string // filepath globs; exclude is matched against the path the include glob matched
	LogRoots         []string // absolute dirs a symlink may resolve into; a symlink resolving elsewhere is refused
	SelfNamespace    string   // when both SelfNamespace and SelfPod are set,
	SelfPod          string   // that pod's files are skipped (no feedback loop)
}

// Target is one container log file to follow.
type Target struct {
	Path string       // the path the include glob matched (e.g. /var/log/containers/x.log)
	Real string       // fully resolved absolute path (filepath.EvalSymlinks), equal to Path for a plain file
	Meta k8spath.Meta // k8spath.Parse(Path, Real); see Scan for link chains
}

// Scanner finds targets. It is not safe for concurrent use.
type Scanner struct {
	o     Options
	roots []string          // cleaned absolute roots, each ending in a separator
	metas map[string]cached // the last scan's metadata by path, so an idle node parses no names
	dirs  map[string]string // the last scan's resolved directories
}

type cached struct {
	real string
	meta k8spath.Meta
}

// NewScanner checks the globs and resolves the log roots once, so that roots
// reached through a symlink (a temp dir, a relocated /var/log) still match the
// resolved paths Scan compares against them.
func NewScanner(o Options) (*Scanner, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Scanner{o: o}
	for _, r := range o.LogRoots {
		// Keep the path as given too: a root that does not exist yet cannot be
		// resolved, and a resolved file path under it has no symlinks, so it
		// cannot wrongly match.
		s.roots = append(s.roots, withSep(filepath.Clean(r)))
		if res, err := filepath.EvalSymlinks(r); err == nil {
			s.roots = append(s.roots, withSep(res))
		}
	}
	return s, nil
}

// Validate checks the globs and that log roots are absolute; the receiver's
// config validation uses it too, so the rules live in one place.
func (o Options) Validate() error {
	var errs []error
	for _, g := range o.Include {
		errs = append(errs, checkGlob("include", g))
	}
	for _, g := range o.Exclude {
		errs = append(errs, checkGlob("exclude", g))
	}
	for _, r := range o.LogRoots {
		if !filepath.IsAbs(r) {
			errs = append(errs, fmt.Errorf("log_roots: %q is not an absolute path", r))
		}
	}
	return errors.Join(errs...)
}

func checkGlob(key, g string) error {
	if g == "" {
		return fmt.Errorf("%s: empty glob", key)
	}
	if _, err := filepath.Match(g, ""); err != nil {
		return fmt.Errorf("%s: bad glob %q: %w", key, g, err)
	}
	return nil
}

func withSep(p string) string {
	if strings.HasSuffix(p, string(filepath.Separator)) {
		return p
	}
	return p + string(filepath.Separator)
}

// Scan globs the includes and returns the targets, sorted by Path,
// deduplicated by Real (the first Path wins). Problems with single files do not
// stop the scan: each is returned as an error naming the path and why, worded
// the same on every scan so the caller can log it once.
//
// When Real is not in the /var/log/pods layout but a link on the way there is
// (cri-dockerd: /var/log/pods/.../0.log -> /var/lib/docker/containers/<id>/<id>-json.log),
// Meta is parsed with that link as the target instead, so the pod UID and
// restart count are kept.
func (s *Scanner) Scan() ([]Target, []error) {
	var paths []string
	for _, g := range s.o.Include {
		m, _ := filepath.Glob(g) // the only error is a bad pattern, checked in NewScanner
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	var (
		targets []Target
		errs    []error
		seen    = map[string]bool{}
		metas   = make(map[string]cached, len(s.metas))
		dirs    = &dirResolver{prev: s.dirs, cur: map[string]string{}}
	)
	for i, p := range paths {
		if i > 0 && paths[i-1] == p || isRotated(p) || s.excluded(p) {
			continue
		}
		real, hops, err := s.resolve(p, dirs)
		if err != nil {
			if !errors.Is(err, errVanished) {
				errs = append(errs, err)
			}
			continue
		}
		if seen[real] || isRotated(real) {
			continue
		}
		seen[real] = true
		t := Target{Path: p, Real: real}
		if c, ok := s.metas[p]; ok && c.real == real {
			t.Meta = c.meta
		} else {
			t.Meta = metaOf(p, real, hops)
		}
		metas[p] = cached{real, t.Meta}
		if s.o.SelfNamespace != "" && s.o.SelfPod != "" &&
			t.Meta.Namespace == s.o.SelfNamespace && t.Meta.PodName == s.o.SelfPod {
			continue
		}
		targets = append(targets, t)
	}
	s.metas, s.dirs = metas, dirs.cur
	return targets, errs
}

func metaOf(p, real string, hops []string) k8spath.Meta {
	meta := k8spath.Parse(p, real)
	for j := len(hops) - 2; j >= -1 && meta.PodUID == ""; j-- {
		via := p // the glob may have matched the pods link itself
		if j >= 0 {
			via = hops[j]
		}
		if m := k8spath.Parse(p, via); m.PodUID != "" {
			meta = m
		}
	}
	return meta
}

func (s *Scanner) excluded(p string) bool {
	for _, g := range s.o.Exclude {
		if ok, _ := filepath.Match(g, p); ok {
			return true
		}
	}
	return false
}

// isRotated tells names kubelet and runtimes give to files that are no longer
// written: "0.log.20261124-101500", "*.gz", "*.tmp". A name ending in ".log"
// is current even if ".log." occurs earlier (pod names may hold dots).
func isRotated(p string) bool {
	name := filepath.Base(p)
	if strings.HasSuffix(name, ".log") {
		return false
	}
	return strings.Contains(name, ".log.") || strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".tmp")
}

// ErrDangling marks a link whose target does not exist. Kubelet's links
// dangle for a moment at every rotation and until a removed container is
// garbage collected, so callers treat it as churn rather than a fault.
var ErrDangling = errors.New("dangling symlink")

// errVanished marks a plain file that went away between glob and stat; that
// is normal churn, not a problem to report.
var errVanished = errors.New("vanished")

// resolve follows p one link at a time and returns its resolved absolute
// path and every place a link on the way led to. Each place a link leads to must lie inside a log root, so that a chain
// cannot wander through other parts of the host. A plain file is always
// allowed: the operator's glob named it directly.
func (s *Scanner) resolve(p string, dirs *dirResolver) (real string, hops []string, err error) {
	cur, err := dirs.resolve(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, errVanished // the glob just listed its directory
	} else if err != nil {
		return "", nil, fmt.Errorf("%s: cannot resolve: %w", p, err)
	}
	for hop := 0; ; hop++ {
		fi, err := os.Lstat(cur)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && hop == 0 {
				return "", nil, errVanished
			}
			if errors.Is(err, fs.ErrNotExist) {
				return "", nil, fmt.Errorf("%s: %w: %s does not exist", p, ErrDangling, cur)
			}
			return "", nil, fmt.Errorf("%s: cannot resolve symlink: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.Mode().IsRegular() {
				return "", nil, fmt.Errorf("%s: %s is not a regular file", p, cur)
			}
			return cur, hops, nil
		}
		if hop == maxHops {
			return "", nil, fmt.Errorf("%s: more than %d symlinks in a chain", p, maxHops)
		}
		dest, err := os.Readlink(cur)
		if err != nil {
			return "", nil, fmt.Errorf("%s: cannot resolve symlink: %w", p, err)
		}
		if !filepath.IsAbs(dest) {
			// cur's directory is resolved, so ".." in dest is lexical here.
			dest = filepath.Join(filepath.Dir(cur), dest)
		}
		next, err := dirs.resolve(dest)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", nil, fmt.Errorf("%s: %w: %s does not exist", p, ErrDangling, dest)
			}
			return "", nil, fmt.Errorf("%s: cannot resolve symlink: %w", p, err)
		}
		if !s.inRoots(next) {
			return "", nil, fmt.Errorf("%s: symlink leads to %s, outside log_roots", p, next)
		}
		hops = append(hops, next)
		cur = next
	}
}

// dirResolver makes paths absolute with their directory fully resolved,
// leaving the last element as it is. A directory is resolved once per scan,
// and a directory resolved by the previous scan is reused while it is still a
// plain directory: one lstat instead of one per path component, which is most
// of what an idle node costs.
type dirResolver struct{ prev, cur map[string]string }

func (d *dirResolver) resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	parent := filepath.Dir(abs)
	dir, ok := d.cur[parent]
	if !ok {
		if prev, known := d.prev[parent]; known {
			if fi, err := os.Lstat(parent); err == nil && fi.IsDir() {
				dir, ok = prev, true
			}
		}
		if !ok {
			if dir, err = filepath.EvalSymlinks(parent); err != nil {
				return "", err
			}
		}
		d.cur[parent] = dir
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

func (s *Scanner) inRoots(p string) bool {
	for _, r := range s.roots {
		if strings.HasPrefix(p, r) {
			return true
		}
	}
	return false
}
