// Command loggy-demo is what `make run` starts: it builds a throwaway Kubernetes
// node log tree in a temporary directory, writes container logs into it the way
// containerd, dockerd and kubelet do (CRI and docker json-file files, 16 KiB
// splits, kubelet-style rotation with gzip), and runs bin/otelcol-loggy on it
// with a debug exporter, so the collected records and their k8s attributes
// show on the terminal. Ctrl-C (SIGINT) or SIGTERM stops the collector by its
// PID and removes the temporary directory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// collectorConfig is the collector configuration the demo runs with. The loggy
// receiver reads the demo tree from the beginning; the resource processor adds
// k8s.node.name as distribution/config.yaml does in production; the debug
// exporter prints every record with its attributes.
const collectorConfig = `# written by loggy-demo; removed when the demo stops
receivers:
  loggy:
    include: [{{.Root}}/var/log/containers/*.log]
    exclude: []
    exclude_self: false
    start_at: beginning
    log_roots: [{{.Root}}/var/log/pods]
    poll_interval: 1s

processors:
  resource:
    attributes:
      - key: k8s.node.name
        value: demo-node
        action: upsert
  batch:
    timeout: 1s

exporters:
  debug:
    verbosity: detailed
    use_internal_logger: false

service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [loggy]
      processors: [resource, batch]
      exporters: [debug]
`

func main() {
	collector := flag.String("collector", "bin/otelcol-loggy", "path of the collector binary")
	duration := flag.Duration("duration", 0, "stop by itself after this long (0: run until Ctrl-C)")
	rotateSize := flag.Int64("rotate-size", 4096, "rotate a container log file once it is bigger than this many bytes (kubelet: containerLogMaxSize)")
	rotateCheck := flag.Duration("rotate-check", 5*time.Second, "how often the rotation check runs (kubelet: every 10s)")
	maxFiles := flag.Int("max-files", 5, "log files kept per container, live one included (kubelet: containerLogMaxFiles)")
	flag.Parse()

	if err := run(*collector, *duration, *rotateSize, *rotateCheck, *maxFiles); err != nil {
		fmt.Fprintln(os.Stderr, "loggy-demo:", err)
		os.Exit(1)
	}
}

func run(collector string, duration time.Duration, rotateSize int64, rotateCheck time.Duration, maxFiles int) (err error) {
	bin, err := filepath.Abs(collector)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("collector binary: %w (run `make build` first)", err)
	}
	if maxFiles < 2 {
		return errors.New("-max-files must be at least 2")
	}

	// Stop on Ctrl-C / SIGTERM from here on, whatever state we are in.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}

	root, err := os.MkdirTemp("", "loggy-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if rmErr := os.RemoveAll(root); rmErr != nil {
			err = errors.Join(err, rmErr)
			return
		}
		fmt.Fprintf(os.Stderr, "loggy-demo: removed %s\n", root)
	}()

	pods, err := makeNode(root)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(root, "collector.yaml")
	if err := writeConfig(cfgPath, root); err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "loggy-demo: node tree in %s\n", root)
	for _, p := range pods {
		c := p.c
		fmt.Fprintf(os.Stderr, "loggy-demo:   %-8s %s/%s container %s restart %d (%s)\n",
			p.kind, c.Namespace, c.Pod, c.Name, c.Restart, c.Format)
	}
	fmt.Fprintln(os.Stderr, "loggy-demo: starting", bin, "- press Ctrl-C to stop")

	// Start writing before the collector: start_at: beginning picks the first lines up.
	writeCtx, stopWriting := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Go(func() { p.run(writeCtx) })
	}
	wg.Go(func() { rotateLoop(writeCtx, pods, rotateSize, rotateCheck, maxFiles) })
	defer func() {
		stopWriting()
		wg.Wait()
		for _, p := range pods {
			_ = p.c.Close()
		}
	}()

	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Dir = root
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start collector: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	select {
	case err := <-exited:
		return fmt.Errorf("collector exited on its own: %v", err)
	case <-ctx.Done():
	}
	fmt.Fprintf(os.Stderr, "\nloggy-demo: stopping collector (pid %d)\n", cmd.Process.Pid)
	stopWriting()
	return stopProcess(cmd.Process, exited, 15*time.Second)
}

// stopProcess sends SIGTERM to p and waits for it to exit (its Wait result
// arrives on exited), then SIGKILL if it has not after grace.
func stopProcess(p *os.Process, exited <-chan error, grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
	}
	fmt.Fprintf(os.Stderr, "loggy-demo: collector (pid %d) still running after %s, killing it\n", p.Pid, grace)
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-exited
	return nil
}

func writeConfig(path, root string) error {
	t := template.Must(template.New("config").Parse(collectorConfig))
	var b strings.Builder
	if err := t.Execute(&b, struct{ Root string }{root}); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// pod is a demo workload: a container log file and what it writes.
type pod struct {
	kind string
	c    *container
	run  func(ctx context.Context)
}

func makeNode(root string) ([]*pod, error) {
	counter, err := newContainer(root, "default", "counter", "count", 0, formatCRI)
	if err != nil {
		return nil, err
	}
	web, err := newContainer(root, "shop", "web-6d4b9c8f7-x2k9p", "nginx", 0, formatDocker)
	if err != nil {
		return nil, err
	}
	worker, err := newContainer(root, "batch", "report-worker-0", "worker", 1, formatCRI)
	if err != nil {
		return nil, err
	}
	return []*pod{
		{kind: "counter", c: counter, run: func(ctx context.Context) { runCounter(ctx, counter) }},
		{kind: "web", c: web, run: func(ctx context.Context) { runWeb(ctx, web) }},
		{kind: "worker", c: worker, run: func(ctx context.Context) { runWorker(ctx, worker) }},
	}, nil
}

// every calls f now and then every d until ctx is done.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func logErr(c *container, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "loggy-demo: write %s: %v\n", c.Pod, err)
	}
}

// runCounter is the counter pod of the original Loggy post (the Kubernetes
// logging example): `echo "$i: $(date)"` once a second.
func runCounter(ctx context.Context, c *container) {
	i := 0
	every(ctx, time.Second, func() {
		logErr(c, c.Write("stdout", fmt.Sprintf("%d: %s", i, time.Now().Format(time.UnixDate))))
		i++
	})
}

// runWeb writes JSON access logs on stdout, and errors on stderr now and then.
func runWeb(ctx context.Context, c *container) {
	paths := []string{"/", "/healthz", "/api/products", "/api/products/42", "/api/cart", "/checkout", "/static/app.js"}
	methods := []string{"GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"}
	agents := []string{"Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "kube-probe/1.37"}
	every(ctx, 400*time.Millisecond, func() {
		status := 200
		switch n := rand.IntN(20); {
		case n == 0:
			status = 500
		case n < 3:
			status = 404
		case n < 5:
			status = 304
		}
		line, _ := json.Marshal(map[string]any{
			"ts":          time.Now().UTC().Format(time.RFC3339Nano),
			"level":       "info",
			"remote_addr": fmt.Sprintf("10.244.%d.%d", rand.IntN(4), 2+rand.IntN(250)),
			"method":      methods[rand.IntN(len(methods))],
			"path":        paths[rand.IntN(len(paths))],
			"status":      status,
			"bytes":       rand.IntN(20000),
			"duration_ms": float64(rand.IntN(250000)) / 1000,
			"user_agent":  agents[rand.IntN(len(agents))],
		})
		logErr(c, c.Write("stdout", string(line)))
		if status == 500 {
			logErr(c, c.Write("stderr", fmt.Sprintf(`{"ts":%q,"level":"error","msg":"upstream timed out","upstream":"cart:8080"}`,
				time.Now().UTC().Format(time.RFC3339Nano))))
		}
	})
}

// runWorker is stderr-heavy: warnings and errors on stderr, progress on stdout.
func runWorker(ctx context.Context, c *container) {
	job := 1000
	every(ctx, 700*time.Millisecond, func() {
		job++
		switch n := rand.IntN(10); {
		case n < 5:
			logErr(c, c.Write("stderr", fmt.Sprintf("level=warn msg=\"retrying job\" job=%d attempt=%d err=\"connection reset by peer\"", job, 1+rand.IntN(3))))
		case n < 8:
			logErr(c, c.Write("stderr", fmt.Sprintf("level=error msg=\"job failed\" job=%d err=\"deadline exceeded\"", job)))
		default:
			logErr(c, c.Write("stdout", fmt.Sprintf("level=info msg=\"job done\" job=%d rows=%d", job, rand.IntN(5000))))
		}
	})
}

// rotateLoop checks the log sizes like kubelet's container log manager and
// rotates the files that are too big.
func rotateLoop(ctx context.Context, pods []*pod, size int64, check time.Duration, maxFiles int) {
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range pods {
			if p.c.Size() < size {
				continue
			}
			if err := p.c.Rotate(maxFiles); err != nil {
				fmt.Fprintf(os.Stderr, "loggy-demo: rotate %s: %v\n", p.c.Pod, err)
			}
		}
	}
}
