package deploy

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestAgentUnderPodSecurityContext runs the real collector on the example overlay's ConfigMap
// config under the DaemonSet's security context, as far as one machine can reproduce it: in a
// private mount namespace the DaemonSet's hostPath volumes are bind-mounted (read-only where the
// manifest says readOnly) over a fake node tree, the root filesystem is remounted read-only
// (readOnlyRootFilesystem), and the collector runs as the manifest's uid with the bounding set
// reduced to the capabilities the manifest keeps (none) and no_new_privs
// (allowPrivilegeEscalation: false). It must read root-owned 0640 logs, write its checkpoints,
// deliver the lines with their k8s attributes to an OTLP endpoint, and not read a file root does
// not own. It needs root (to build the namespace), unshare and setpriv (util-linux).
func TestAgentUnderPodSecurityContext(t *testing.T) {
	bin := requiredTool(t, "LOGGY_BIN", "the collector binary bin/otelcol-loggy (make build)")
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it builds a mount namespace with the pod's volumes (the project's machines and CI run as root)")
	}
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s (util-linux) is needed: %v", tool, err)
		}
	}
	r := build(t, "deploy/overlays/example")
	ds := agent(t, r)
	c, _ := agentContainer(ds)
	cfg, p := checkConfigMount(ds, r, imageConfigPath(t))
	if len(p) > 0 {
		t.Fatal(p)
	}
	psc, sc := ds.Spec.Template.Spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsUser == nil || sc == nil || sc.Capabilities == nil {
		t.Fatal("the DaemonSet has no runAsUser or capabilities to reproduce")
	}

	tmp := t.TempDir()
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	// The fake node: one directory per hostPath volume.
	host := map[string]string{} // host path -> directory standing in for it
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.HostPath != nil {
			host[v.HostPath.Path] = filepath.Join(tmp, "node", strings.ReplaceAll(strings.Trim(v.HostPath.Path, "/"), "/", "_"))
			must(t, os.MkdirAll(host[v.HostPath.Path], 0o755))
		}
	}
	// A root-owned 0640 log in a 0750 pod directory, linked from /var/log/containers as kubelet does.
	podDir := filepath.Join(host["/var/log/pods"], "default_web-1_0d1c2b3a-1111-2222-3333-444455556666")
	must(t, os.MkdirAll(filepath.Join(podDir, "app"), 0o750))
	must(t, os.Chmod(podDir, 0o750))
	logFile := filepath.Join(podDir, "app", "0.log")
	must(t, os.WriteFile(logFile, nil, 0o640))
	must(t, os.Symlink("/var/log/pods/default_web-1_0d1c2b3a-1111-2222-3333-444455556666/app/0.log",
		filepath.Join(host["/var/log/containers"], "web-1_default_app-"+strings.Repeat("a", 64)+".log")))
	// A file root does not own (uid 1000, 0600, in 0700 directories): out of reach without
	// CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH.
	other := filepath.Join(host["/var/log/pods"], "default_other-1_9d1c2b3a-1111-2222-3333-444455556666")
	must(t, os.MkdirAll(filepath.Join(other, "app"), 0o700))
	otherLog := filepath.Join(other, "app", "0.log")
	must(t, os.WriteFile(otherLog, nil, 0o600))
	for _, p := range []string{other, filepath.Join(other, "app"), filepath.Join(other, "app", "0.log")} {
		must(t, os.Chown(p, 1000, 1000))
	}
	must(t, os.Symlink("/var/log/pods/default_other-1_9d1c2b3a-1111-2222-3333-444455556666/app/0.log",
		filepath.Join(host["/var/log/containers"], "other-1_default_app-"+strings.Repeat("b", 64)+".log")))

	// The OTLP endpoint: the same binary as a gateway that prints what it receives.
	gwPort, healthPort := freePort(t), freePort(t)
	gwCfg := filepath.Join(tmp, "gateway.yaml")
	must(t, os.WriteFile(gwCfg, fmt.Appendf(nil, `receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:%d"}}}}
exporters: {debug: {verbosity: detailed}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {logs: {receivers: [otlp], exporters: [debug]}}
`, gwPort), 0o644))
	gwOut := &syncBuffer{}
	gw := start(t, exec.Command(bin, "--config", gwCfg), gwOut)

	// The agent.
	agentCfg := filepath.Join(tmp, "config.yaml")
	must(t, os.WriteFile(agentCfg, []byte(cfg), 0o644))
	var script strings.Builder
	script.WriteString("set -e\n")
	tmpfs := map[string]bool{}
	for _, m := range c.VolumeMounts {
		for _, v := range ds.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.HostPath == nil {
				continue
			}
			// A tmpfs over the top two levels (/var/log, /var/lib) gives the mount points a place.
			parts := strings.SplitN(strings.Trim(m.MountPath, "/"), "/", 3)
			top := "/" + path.Join(parts[:min(2, len(parts))]...)
			if !tmpfs[top] {
				fmt.Fprintf(&script, "mount -t tmpfs tmpfs %s\n", top)
				tmpfs[top] = true
			}
			fmt.Fprintf(&script, "mkdir -p %s\nmount --bind %s %s\n", m.MountPath, host[v.HostPath.Path], m.MountPath)
			if m.ReadOnly {
				fmt.Fprintf(&script, "mount -o remount,bind,ro %s\n", m.MountPath)
			}
		}
	}
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		script.WriteString("mount -o remount,bind,ro /\n")
	}
	setpriv := []string{"setpriv", fmt.Sprintf("--reuid=%d", *psc.RunAsUser), "--clear-groups", "--inh-caps=-all", "--ambient-caps=-all"}
	if psc.RunAsGroup != nil {
		setpriv = append(setpriv, fmt.Sprintf("--regid=%d", *psc.RunAsGroup))
	}
	bounding := "-all"
	if !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Fatal("this test reproduces drop: [ALL] only")
	}
	for _, a := range sc.Capabilities.Add {
		bounding += ",+" + strings.ToLower(string(a))
	}
	setpriv = append(setpriv, "--bounding-set="+bounding)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		setpriv = append(setpriv, "--no-new-privs")
	}
	fmt.Fprintf(&script, "exec %s %s --config %s --set=extensions::health_check::endpoint=127.0.0.1:%d\n",
		strings.Join(setpriv, " "), bin, agentCfg, healthPort)

	var env []string
	for _, e := range c.Env {
		v := resolveEnv(t, r, ds.Namespace, c, e)
		switch e.Name {
		case "OTLP_ENDPOINT":
			v = fmt.Sprintf("127.0.0.1:%d", gwPort)
		case "OTLP_INSECURE":
			v = "true"
		}
		env = append(env, e.Name+"="+v)
	}
	agentCmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script.String())
	agentCmd.Env = append(env, "PATH="+os.Getenv("PATH"))
	agentOut := &syncBuffer{}
	ag := start(t, agentCmd, agentOut)

	healthURL := fmt.Sprintf("http://127.0.0.1:%d/", healthPort)
	waitFor(t, 30*time.Second, "the agent's health_check to answer", agentOut, func() bool {
		resp, err := http.Get(healthURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", ag.Process.Pid))
	must(t, err)
	for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", fmt.Sprintf("Uid:\t%d\t", *psc.RunAsUser)} {
		if !bytes.Contains(status, []byte(want)) {
			t.Errorf("the agent's /proc status lacks %q:\n%s", want, status)
		}
	}

	// Give the receiver a moment to open the file (start_at: end), then write three lines.
	time.Sleep(2 * time.Second)
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(f, "2026-11-24T18:30:0%d.123456789Z stdout F hello from loggy %d\n", i, i)
	}
	must(t, f.Close())
	// And a line into the file root does not own (start_at: end: only new lines are read).
	f, err = os.OpenFile(otherLog, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	fmt.Fprintln(f, "2026-11-24T18:30:04Z stdout F not-for-root-without-capabilities")
	must(t, f.Close())
	waitFor(t, 30*time.Second, "the three lines at the gateway", agentOut, func() bool {
		s := gwOut.String()
		return strings.Contains(s, "hello from loggy 1") && strings.Contains(s, "hello from loggy 2") && strings.Contains(s, "hello from loggy 3")
	})
	time.Sleep(2 * time.Second) // let a line from the other file arrive, if it was read
	got := gwOut.String()
	for _, want := range []string{"k8s.node.name: Str(node-1)", "k8s.pod.name: Str(web-1)", "k8s.namespace.name: Str(default)", "k8s.container.name: Str(app)"} {
		if !strings.Contains(got, want) {
			t.Errorf("the gateway's records lack %q", want)
		}
	}
	if strings.Contains(got, "not-for-root-without-capabilities") {
		t.Errorf("the agent read a file root does not own: it kept a capability it should not have")
	}
	if !strings.Contains(agentOut.String(), "permission denied") {
		t.Errorf("the agent did not report the unreadable file; its log:\n%s", agentOut.String())
	}
	entries, err := os.ReadDir(host[checkpointDir])
	must(t, err)
	if len(entries) == 0 {
		t.Errorf("no checkpoint file in %s", checkpointDir)
	}
	stop(t, ag)
	stop(t, gw)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output for concurrent reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs cmd with its output in out and stops it by its PID when the test ends.
func start(t *testing.T, cmd *exec.Cmd, out *syncBuffer) *exec.Cmd {
	t.Helper()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	must(t, cmd.Start())
	t.Cleanup(func() { stop(t, cmd) })
	return cmd
}

// stop ends a process started by start: SIGTERM, then SIGKILL after 10 s.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, log *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; agent log:\n%s", limit, what, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
