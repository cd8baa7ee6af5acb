// Package k8spath reads a container's identity from the paths kubelet gives its
// log files. It only slices the input, so whatever it returns was in the path.
package k8spath

import (
	"strconv"
	"strings"
)

// Meta is what a container log file's path tells about its container. Missing
// parts are empty (RestartCount -1), never guessed.
type Meta struct {
	Namespace, PodName, PodUID, ContainerName, ContainerID string
	RestartCount                                           int // -1 if unknown
}

// Parse combines the name in /var/log/containers
// ("<pod>_<ns>_<container>-<64 hex id>.log", linkPath) with the resolved target
// in /var/log/pods (".../<ns>_<pod>_<uid>/<container>/<restart>.log", or a
// rotated "<restart>.log.<YYYYMMDD-HHMMSS>[.gz]"). Either may be "" or
// unparseable; each is used all or nothing. Where both name a field the target
// wins, as it is what kubelet actually wrote to; ContainerID comes only from the
// link name, PodUID and RestartCount only from the target.
func Parse(linkPath, targetPath string) Meta {
	m := Meta{RestartCount: -1}
	if pod, ns, container, id, ok := parseLink(linkPath); ok {
		m.PodName, m.Namespace, m.ContainerName, m.ContainerID = pod, ns, container, id
	}
	if ns, pod, uid, container, restart, ok := parseTarget(targetPath); ok {
		m.Namespace, m.PodName, m.PodUID, m.ContainerName, m.RestartCount = ns, pod, uid, container, restart
	}
	return m
}

// parseLink reads "<pod>_<ns>_<container>-<id>.log". Container names may hold
// '-' but the id never does, so the id starts after the last '-'.
func parseLink(p string) (pod, ns, container, id string, ok bool) {
	name, ok := strings.CutSuffix(base(p), ".log")
	if !ok {
		return
	}
	i := strings.LastIndexByte(name, '-')
	if i < 0 || !isHex(name[i+1:], 64) {
		return "", "", "", "", false
	}
	id = name[i+1:]
	pod, ns, container, ok = split3(name[:i])
	return pod, ns, container, id, ok
}

// parseTarget reads the last three elements of
// ".../<ns>_<pod>_<uid>/<container>/<restart>.log[.<YYYYMMDD-HHMMSS>[.gz]]".
func parseTarget(p string) (ns, pod, uid, container string, restart int, ok bool) {
	file := base(p)
	dir := p[:len(p)-len(file)]
	dir = strings.TrimSuffix(dir, "/")
	container = base(dir)
	podDir := base(strings.TrimSuffix(dir[:len(dir)-len(container)], "/"))
	if container == "" || strings.Contains(container, "_") {
		return "", "", "", "", -1, false
	}
	ns, pod, uid, ok = split3(podDir)
	if !ok {
		return "", "", "", "", -1, false
	}
	num, rest, found := strings.Cut(file, ".log")
	if !found || !isRotationSuffix(rest) {
		return "", "", "", "", -1, false
	}
	// Kubelet writes strconv.Itoa; 9 digits keeps Atoi far from overflow.
	if len(num) == 0 || len(num) > 9 || strings.Trim(num, "0123456789") != "" {
		return "", "", "", "", -1, false
	}
	restart, _ = strconv.Atoi(num)
	return ns, pod, uid, container, restart, true
}

// isRotationSuffix accepts what may follow "<restart>.log": nothing, or kubelet's
// ".<YYYYMMDD-HHMMSS>" with an optional ".gz".
func isRotationSuffix(s string) bool {
	if s == "" {
		return true
	}
	s = strings.TrimSuffix(s, ".gz")
	return len(s) == 16 && s[0] == '.' && s[9] == '-' && isDigits(s[1:9]) && isDigits(s[10:])
}

// split3 splits "a_b_c" into three non-empty parts. Pod and namespace names
// cannot hold '_', and neither can container names or uids.
func split3(s string) (a, b, c string, ok bool) {
	a, rest, ok1 := strings.Cut(s, "_")
	b, c, ok2 := strings.Cut(rest, "_")
	if !ok1 || !ok2 || a == "" || b == "" || c == "" || strings.Contains(c, "_") {
		return "", "", "", false
	}
	return a, b, c, true
}

// base is the last '/'-separated element; unlike filepath.Base it never
// invents "." or "/", so its result is always a substring of p.
func base(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
