package deploy

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The contract of issue 5, in one place.
const (
	namespace      = "loggy"
	healthPort     = 13133
	checkpointDir  = "/var/lib/loggy"
	minGracePeriod = 30
)

// logDirs are the host directories the agent reads. They are mounted read-only at their host
// path, because the symlinks in /var/log/containers hold absolute host paths.
var logDirs = []string{"/var/log/pods", "/var/log/containers", "/var/lib/docker/containers"}

// downwardEnv are the environment variables the collector needs from the downward API.
var downwardEnv = map[string]string{
	"K8S_NODE_NAME":     "spec.nodeName",
	"K8S_POD_NAME":      "metadata.name",
	"K8S_POD_NAMESPACE": "metadata.namespace",
}

// allowedCapabilities may be added after dropping ALL: the only one that helps reading logs.
var allowedCapabilities = []corev1.Capability{"DAC_READ_SEARCH"}

type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// agentContainer is the DaemonSet's one container; ok is false when there is not exactly one.
func agentContainer(ds *appsv1.DaemonSet) (*corev1.Container, bool) {
	if len(ds.Spec.Template.Spec.Containers) != 1 {
		return nil, false
	}
	return &ds.Spec.Template.Spec.Containers[0], true
}

// checkDaemonSet checks the agent DaemonSet against the contract and against the other objects
// of the same build (service account, priority class, config maps).
func checkDaemonSet(ds *appsv1.DaemonSet, r *rendered) problems {
	var p problems
	spec := &ds.Spec.Template.Spec

	// Selector and labels.
	if ds.Spec.Selector == nil || len(ds.Spec.Selector.MatchLabels)+len(ds.Spec.Selector.MatchExpressions) == 0 {
		p.addf("spec.selector is empty")
	} else if sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err != nil {
		p.addf("spec.selector: %v", err)
	} else if !sel.Matches(labels.Set(ds.Spec.Template.Labels)) {
		p.addf("spec.selector %s does not match the pod template labels %v", sel, ds.Spec.Template.Labels)
	}
	if ds.Namespace != namespace {
		p.addf("namespace is %q, want %q", ds.Namespace, namespace)
	}

	// Pod-level settings.
	if _, ok := r.serviceAccounts[ds.Namespace+"/"+spec.ServiceAccountName]; !ok {
		p.addf("serviceAccountName %q is not a ServiceAccount of this build", spec.ServiceAccountName)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		p.addf("automountServiceAccountToken must be false: loggy never calls the API server")
	}
	if pc := spec.PriorityClassName; pc == "" {
		p.addf("priorityClassName is empty: a node agent needs a high priority")
	} else if _, ok := r.priorityClasses[pc]; !ok && pc != "system-node-critical" {
		p.addf("priorityClassName %q is neither system-node-critical nor a PriorityClass of this build", pc)
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		p.addf("hostNetwork/hostPID/hostIPC must stay off")
	}
	if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool {
		return t.Operator == corev1.TolerationOpExists && t.Key == "" && t.Effect == ""
	}) {
		p.addf("no toleration {operator: Exists} (with no key and no effect): the agent would skip tainted nodes")
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || *g < minGracePeriod {
		p.addf("terminationGracePeriodSeconds must be at least %d so the collector can flush", minGracePeriod)
	}
	us := ds.Spec.UpdateStrategy
	if us.Type != appsv1.RollingUpdateDaemonSetStrategyType || us.RollingUpdate == nil || us.RollingUpdate.MaxUnavailable == nil {
		p.addf("updateStrategy must be RollingUpdate with maxUnavailable set")
	} else if v, err := intstr.GetScaledValueFromIntOrPercent(us.RollingUpdate.MaxUnavailable, 100, true); err != nil || v == 0 {
		p.addf("updateStrategy.rollingUpdate.maxUnavailable %s: must be a positive number or percentage", us.RollingUpdate.MaxUnavailable.String())
	}

	c, ok := agentContainer(ds)
	if !ok {
		p.addf("want exactly one container, found %d", len(spec.Containers))
		return p
	}
	p = append(p, checkVolumes(spec)...)
	p = append(p, checkSecurity(spec, c)...)
	p = append(p, checkEnv(c, r, ds.Namespace)...)
	p = append(p, checkResources(c)...)
	p = append(p, checkProbes(c)...)
	return p
}

// checkVolumes: every mount has a volume, every volume is used, and the host paths are exactly
// the log directories (read-only, at their host path) and the checkpoint directory.
func checkVolumes(spec *corev1.PodSpec) problems {
	var p problems
	volumes := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if _, dup := volumes[v.Name]; dup {
			p.addf("volume %q is defined twice", v.Name)
		}
		volumes[v.Name] = v
	}
	used := map[string]bool{}
	hostMounts := map[string]bool{}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if paths[m.MountPath] {
				p.addf("container %q mounts %s twice", c.Name, m.MountPath)
			}
			paths[m.MountPath] = true
			v, ok := volumes[m.Name]
			if !ok {
				p.addf("container %q: volumeMount %q (%s) has no volume of that name", c.Name, m.Name, m.MountPath)
				continue
			}
			used[m.Name] = true
			if v.HostPath == nil {
				continue
			}
			hp := path.Clean(v.HostPath.Path)
			hostMounts[hp] = true
			switch {
			case hp == checkpointDir:
				if m.ReadOnly {
					p.addf("%s must be writable (file_storage checkpoints)", hp)
				}
			case slices.Contains(logDirs, hp):
				if !m.ReadOnly {
					p.addf("container %q: hostPath %s is mounted read-write; log directories must be readOnly", c.Name, hp)
				}
				if m.MountPath != hp {
					p.addf("container %q: hostPath %s is mounted at %s; it must be mounted at the same path (the symlinks hold absolute host paths)", c.Name, hp, m.MountPath)
				}
			default:
				p.addf("container %q mounts hostPath %s, which is not one of the agent's directories", c.Name, hp)
			}
		}
	}
	for name, v := range volumes {
		if !used[name] {
			p.addf("volume %q is not mounted by any container", name)
		}
		if v.HostPath != nil && path.Clean(v.HostPath.Path) == checkpointDir &&
			(v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathDirectoryOrCreate) {
			p.addf("hostPath %s must have type DirectoryOrCreate", checkpointDir)
		}
	}
	for _, d := range append([]string{checkpointDir}, logDirs...) {
		if !hostMounts[d] {
			p.addf("hostPath %s is not mounted", d)
		}
	}
	return p
}

// checkSecurity: effective (container over pod) security context.
func checkSecurity(spec *corev1.PodSpec, c *corev1.Container) problems {
	var p problems
	sc := c.SecurityContext
	if sc == nil {
		p.addf("container %q has no securityContext", c.Name)
		sc = &corev1.SecurityContext{}
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p.addf("readOnlyRootFilesystem must be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p.addf("allowPrivilegeEscalation must be false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		p.addf("privileged must not be true")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		p.addf("capabilities.drop must contain ALL")
	}
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			if !slices.Contains(allowedCapabilities, c) {
				p.addf("capability %s is added; only %v may be", c, allowedCapabilities)
			}
		}
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil && spec.SecurityContext != nil {
		seccomp = spec.SecurityContext.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p.addf("seccompProfile must be RuntimeDefault")
	}
	return p
}

// checkEnv: downward API variables, the endpoint, and GOMEMLIMIT against the memory limit.
func checkEnv(c *corev1.Container, r *rendered, ns string) problems {
	var p problems
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			p.addf("env %s is set twice", e.Name)
		}
		env[e.Name] = e
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok := r.configMaps[ns+"/"+ref.Name]
			if !ok {
				p.addf("env %s: ConfigMap %q is not in this build", e.Name, ref.Name)
			} else if _, ok := cm.Data[ref.Key]; !ok {
				p.addf("env %s: ConfigMap %q has no key %q", e.Name, ref.Name, ref.Key)
			}
		}
	}
	for name, field := range downwardEnv {
		e, ok := env[name]
		if !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != field {
			p.addf("env %s must come from the downward API (fieldRef %s)", name, field)
		}
	}
	if _, ok := env["OTLP_ENDPOINT"]; !ok {
		p.addf("env OTLP_ENDPOINT is not set")
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		return p // checkResources reports it
	}
	e, ok := env["GOMEMLIMIT"]
	switch {
	case !ok:
		p.addf("env GOMEMLIMIT is not set")
	case e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
		if e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
			p.addf("GOMEMLIMIT comes from %s, want limits.memory", e.ValueFrom.ResourceFieldRef.Resource)
		}
	default:
		n, err := parseGoMemLimit(e.Value)
		if err != nil {
			p.addf("GOMEMLIMIT %q: %v", e.Value, err)
			break
		}
		if ratio := float64(n) / float64(limit.Value()); ratio < 0.7 || ratio > 0.9 {
			p.addf("GOMEMLIMIT %s is %.0f%% of limits.memory %s; keep it at 70-90%% (change both together)", e.Value, ratio*100, limit.String())
		}
	}
	return p
}

// parseGoMemLimit reads a GOMEMLIMIT value as the Go runtime does: a number of bytes with an
// optional B, KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a Go memory limit (bytes with an optional B/KiB/MiB/GiB/TiB suffix)")
	}
	return n * mult, nil
}

func checkResources(c *corev1.Container) problems {
	var p problems
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			p.addf("resources.requests.%s is not set", r)
		}
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		p.addf("resources.limits.memory is not set")
	}
	for r, req := range c.Resources.Requests {
		if l, ok := c.Resources.Limits[r]; ok && req.Cmp(l) > 0 {
			p.addf("resources.requests.%s %s exceeds its limit %s", r, req.String(), l.String())
		}
	}
	if ok && limit.Cmp(resource.MustParse("64Mi")) < 0 {
		p.addf("resources.limits.memory %s is too small for the collector", limit.String())
	}
	return p
}

// checkProbes: liveness and readiness are HTTP GETs on the health_check port.
func checkProbes(c *corev1.Container) problems {
	var p problems
	for name, pr := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe} {
		if pr == nil || pr.HTTPGet == nil {
			p.addf("%s must be an httpGet on the health_check port %d", name, healthPort)
			continue
		}
		port := pr.HTTPGet.Port
		n := port.IntValue()
		if port.Type == intstr.String {
			n = 0
			for _, cp := range c.Ports {
				if cp.Name == port.StrVal {
					n = int(cp.ContainerPort)
				}
			}
		}
		if n != healthPort {
			p.addf("%s targets port %s (%d), want the health_check port %d", name, port.String(), n, healthPort)
		}
	}
	return p
}

// checkConfigMount: the image's ENTRYPOINT reads configPath; the DaemonSet must not override the
// command and must mount a ConfigMap of this build that has that file at that path. It returns
// the collector config found there.
func checkConfigMount(ds *appsv1.DaemonSet, r *rendered, configPath string) (string, problems) {
	var p problems
	c, ok := agentContainer(ds)
	if !ok {
		p.addf("want exactly one container")
		return "", p
	}
	if len(c.Command) > 0 {
		p.addf("container %q overrides the image's ENTRYPOINT with command %v", c.Name, c.Command)
	}
	dir, file := path.Split(configPath)
	dir = path.Clean(dir)
	for _, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) != dir {
			continue
		}
		for _, v := range ds.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := r.configMaps[ds.Namespace+"/"+v.ConfigMap.Name]
			if !ok {
				p.addf("volume %q names ConfigMap %q, which is not in this build", v.Name, v.ConfigMap.Name)
				return "", p
			}
			cfg, ok := cm.Data[file]
			if !ok {
				p.addf("ConfigMap %q has no key %q (the image reads %s)", cm.Name, file, configPath)
			}
			if !m.ReadOnly {
				p.addf("the config volume should be mounted readOnly")
			}
			return cfg, p
		}
	}
	p.addf("no ConfigMap volume is mounted at %s, where the image's ENTRYPOINT reads %s", dir, configPath)
	return "", p
}

// envRef matches ${env:NAME} and ${NAME} in a collector config; a default (${env:NAME:-x}) is
// captured so that such variables are not required.
var envRef = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// checkCollectorConfig checks the collector config the DaemonSet mounts against the pod: every
// environment variable it needs is set, health_check answers the probes from outside the pod,
// file_storage writes into the checkpoint mount, the receiver reads only mounted directories and
// memory_limiter runs first.
func checkCollectorConfig(cfgText string, ds *appsv1.DaemonSet) problems {
	var p problems
	c, ok := agentContainer(ds)
	if !ok {
		p.addf("want exactly one container")
		return p
	}
	envSet := map[string]bool{}
	for _, e := range c.Env {
		envSet[e.Name] = true
	}
	for _, m := range envRef.FindAllStringSubmatch(cfgText, -1) {
		if m[2] == "" && !envSet[m[1]] {
			p.addf("the collector config uses ${env:%s}, which the DaemonSet does not set", m[1])
		}
	}

	var cfg struct {
		Receivers  map[string]map[string]any `json:"receivers"`
		Processors map[string]map[string]any `json:"processors"`
		Extensions map[string]map[string]any `json:"extensions"`
		Service    struct {
			Extensions []string `json:"extensions"`
			Pipelines  map[string]struct {
				Receivers  []string `json:"receivers"`
				Processors []string `json:"processors"`
			} `json:"pipelines"`
		} `json:"service"`
	}
	if err := yaml.Unmarshal([]byte(cfgText), &cfg); err != nil {
		p.addf("collector config: %v", err)
		return p
	}
	typeOf := func(id string) string { t, _, _ := strings.Cut(id, "/"); return t }
	findOne := func(section string, ids []string, typ string) (string, bool) {
		for _, id := range ids {
			if typeOf(id) == typ {
				return id, true
			}
		}
		p.addf("service.%s has no %s", section, typ)
		return "", false
	}

	mounts := map[string]bool{} // mount path -> readOnly
	for _, m := range c.VolumeMounts {
		mounts[path.Clean(m.MountPath)] = m.ReadOnly
	}
	under := func(file string, readOnlyOK bool) bool {
		for d := path.Clean(file); ; d = path.Dir(d) {
			if ro, ok := mounts[d]; ok {
				return readOnlyOK || !ro
			}
			if d == "/" || d == "." {
				return false
			}
		}
	}

	if id, ok := findOne("extensions", cfg.Service.Extensions, "health_check"); ok {
		ep, _ := cfg.Extensions[id]["endpoint"].(string)
		host, port, err := net.SplitHostPort(ep)
		switch {
		case ep == "":
			p.addf("extensions.%s.endpoint is not set: its default listens on localhost only, where kubelet's probes cannot reach it", id)
		case err != nil:
			p.addf("extensions.%s.endpoint %q: %v", id, ep, err)
		case port != strconv.Itoa(healthPort):
			p.addf("extensions.%s.endpoint %q: port must be %d (the probes' port)", id, ep, healthPort)
		case host == "localhost" || (net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()):
			p.addf("extensions.%s.endpoint %q listens on loopback, where kubelet's probes cannot reach it", id, ep)
		}
	}
	if id, ok := findOne("extensions", cfg.Service.Extensions, "file_storage"); ok {
		dir, _ := cfg.Extensions[id]["directory"].(string)
		if dir == "" || !under(dir, false) {
			p.addf("extensions.%s.directory %q is not on a writable volume (want %s)", id, dir, checkpointDir)
		}
	}
	var receivers, firstProcessors []string
	for _, pl := range cfg.Service.Pipelines {
		receivers = append(receivers, pl.Receivers...)
		if len(pl.Processors) > 0 {
			firstProcessors = append(firstProcessors, pl.Processors[0])
		} else {
			firstProcessors = append(firstProcessors, "")
		}
	}
	if id, ok := findOne("pipelines.*.receivers", receivers, "loggy"); ok {
		rc := cfg.Receivers[id]
		for _, key := range []string{"include", "log_roots"} {
			list, _ := rc[key].([]any)
			for _, g := range list {
				s, _ := g.(string)
				// The static part of a glob must lie in a mounted directory.
				static := s
				if i := strings.IndexAny(s, "*?[{"); i >= 0 {
					static = path.Dir(s[:i] + "x")
				}
				if !under(static, true) {
					p.addf("receivers.%s.%s: %q is not inside a mounted directory", id, key, s)
				}
			}
		}
	}
	for _, first := range firstProcessors {
		if typeOf(first) != "memory_limiter" {
			p.addf("every pipeline must start with memory_limiter (found %q first)", first)
			continue
		}
		ml := cfg.Processors[first]
		pct, _ := ml["limit_percentage"].(float64)
		mib, _ := ml["limit_mib"].(float64)
		limit, ok := c.Resources.Limits[corev1.ResourceMemory]
		switch {
		case pct > 0 && pct <= 90:
			// Sized by the processor from the container's cgroup limit.
		case pct > 90:
			p.addf("processors.%s.limit_percentage %v leaves no headroom below limits.memory", first, pct)
		case mib > 0 && ok:
			if lim := float64(limit.Value()) / (1 << 20); mib > 0.9*lim {
				p.addf("processors.%s.limit_mib %v is above 90%% of limits.memory %s", first, mib, limit.String())
			}
		default:
			p.addf("processors.%s sets neither limit_percentage nor limit_mib", first)
		}
	}
	return p
}
