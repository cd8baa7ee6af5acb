// Command bench measures loggy against what a node would run instead, on the
// same generated node, each contender in its own process: see bench/README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench run|loggy|ceiling|idle|latency [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "loggy":
		err = cmdLoggy(os.Args[2:])
	case "ceiling":
		err = cmdCeiling(os.Args[2:])
	case "idle":
		err = cmdIdle(os.Args[2:])
	case "latency":
		err = cmdLatency(os.Args[2:])
	case "fairness":
		err = cmdFairness(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is what a contender process prints as its last line.
type result struct {
	Count   int64   `json:"count"`
	Seconds float64 `json:"seconds"`
}

func printResult(count int64, start time.Time) {
	b, _ := json.Marshal(result{Count: count, Seconds: time.Since(start).Seconds()})
	fmt.Println(string(b))
}

// loggyConfig is the receiver reading a generated node from its beginning.
func loggyConfig(dir string) *loggyreceiver.Config {
	cfg := loggyreceiver.NewFactory().CreateDefaultConfig().(*loggyreceiver.Config)
	cfg.Include = []string{filepath.Join(dir, "var/log/containers/*.log")}
	cfg.Exclude = nil
	cfg.ExcludeSelf = false
	cfg.LogRoots = []string{filepath.Join(dir, "var/log/pods")}
	cfg.StartAt = "beginning"
	return cfg
}

func startLoggy(cfg *loggyreceiver.Config, fn consumer.ConsumeLogsFunc) (receiver.Logs, error) {
	f := loggyreceiver.NewFactory()
	next, err := consumer.NewLogs(fn)
	if err != nil {
		return nil, err
	}
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		return nil, err
	}
	return r, r.Start(context.Background(), componenttest.NewNopHost())
}

// cmdLoggy counts the records the loggy receiver delivers until it has expect.
func cmdLoggy(args []string) error {
	fs := flag.NewFlagSet("loggy", flag.ExitOnError)
	dir := fs.String("dir", "", "node directory")
	expect := fs.Int64("expect", 0, "records to wait for")
	_ = fs.Parse(args)
	start := time.Now()
	var count atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	r, err := startLoggy(loggyConfig(*dir), func(_ context.Context, ld plog.Logs) error {
		if count.Add(int64(ld.LogRecordCount())) >= *expect {
			once.Do(func() { close(done) })
		}
		return nil
	})
	if err != nil {
		return err
	}
	<-done
	printResult(count.Load(), start)
	return r.Shutdown(context.Background())
}

// cmdCeiling reads every file and counts newlines: the most any reader can do.
func cmdCeiling(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ExitOnError)
	dir := fs.String("dir", "", "node directory")
	_ = fs.Parse(args)
	start := time.Now()
	paths, err := filepath.Glob(filepath.Join(*dir, "var/log/containers/*.log"))
	if err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	var count int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		for {
			n, err := f.Read(buf)
			count += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
		}
		_ = f.Close()
	}
	printResult(count, start)
	return nil
}

// contender is one way of reading the node, run as its own process.
type contender struct {
	name   string
	cmd    []string
	expect int64 // what it counts: records, or physical lines
}

type measured struct {
	contender
	res       result
	cpu       float64 // user+system seconds
	maxRSSMiB float64
	err       error
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", "bench/data", "where the generated node lives (reused when the parameters match)")
	files := fs.Int("files", 50, "log files")
	sizeMiB := fs.Int64("size-mib", 1024, "total size of the files in MiB")
	filelog := fs.String("filelog", "", "the filelog contender's binary (bench/filelog); empty skips it")
	node := fs.String("node", "", "the Node.js Loggy script (bench/node-loggy/loggy.js); empty skips it")
	idle := fs.Bool("idle", true, "also measure idle CPU and write-to-delivery latency")
	_ = fs.Parse(args)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	m, err := generate(abs, *files, *sizeMiB<<20)
	if err != nil {
		return err
	}
	fmt.Printf("node: %d files, %.0f MiB, %d records, %d physical lines (generated or reused in %s)\n",
		m.Files, float64(m.Bytes)/(1<<20), m.Records, m.Physical, time.Since(t0).Round(time.Second))

	cs := []contender{{name: "loggy", cmd: []string{self, "loggy", "-dir", abs, "-expect", fmt.Sprint(m.Records)}, expect: m.Records}}
	if *filelog != "" {
		cs = append(cs, contender{name: "filelog v0.160 (container)", cmd: []string{*filelog, "-dir", abs, "-expect", fmt.Sprint(m.Records)}, expect: m.Records})
	}
	if *node != "" {
		cs = append(cs, contender{name: "original Loggy (Node.js)", cmd: []string{"node", *node, abs, fmt.Sprint(m.Physical)}, expect: m.Physical})
	}
	cs = append(cs, contender{name: "ceiling (read + count newlines)", cmd: []string{self, "ceiling", "-dir", abs}, expect: m.Physical})

	var out []measured
	for _, c := range cs {
		dropCaches()
		r := measure(c)
		if r.err != nil {
			fmt.Printf("%s: %v\n", c.name, r.err)
		}
		out = append(out, r)
	}
	printTable(out, m)
	if *idle {
		for _, sub := range [][]string{{"idle", "-dir", filepath.Join(abs, "idle")}, {"latency", "-dir", filepath.Join(abs, "latency")}, {"fairness", "-dir", filepath.Join(abs, "fairness")}} {
			cmd := exec.Command(self, sub...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", sub[0], err)
			}
		}
	}
	return nil
}

// dropCaches is best effort: every contender then starts from the same page
// cache state. Without root it does nothing, and the files stay cached for all.
func dropCaches() {
	_ = exec.Command("sync").Run()
	_ = os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0o200)
}

func measure(c contender) measured {
	r := measured{contender: c}
	cmd := exec.Command(c.cmd[0], c.cmd[1:]...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		r.err = err
		return r
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r.cpu = tv(ru.Utime) + tv(ru.Stime)
	r.maxRSSMiB = float64(ru.Maxrss) / 1024
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r.res); err != nil {
		r.err = fmt.Errorf("no result line in %q", stdout.String())
	}
	if r.err == nil && r.res.Count < c.expect {
		r.err = fmt.Errorf("counted %d of %d", r.res.Count, c.expect)
	}
	return r
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func printTable(ms []measured, m manifest) {
	var loggy *measured
	for i := range ms {
		if ms[i].name == "loggy" && ms[i].err == nil {
			loggy = &ms[i]
		}
	}
	fmt.Printf("\n%d files, %.0f MiB, %d records (%d physical lines); %d cores, %s\n\n",
		m.Files, float64(m.Bytes)/(1<<20), m.Records, m.Physical, runtime.NumCPU(), runtime.Version())
	fmt.Println("| contender | lines/s | MiB/s | CPU s per M lines | peak RSS MiB | CPU per line vs loggy | peak RSS vs loggy |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range ms {
		if r.err != nil {
			fmt.Printf("| %s | failed: %v | | | | | |\n", r.name, r.err)
			continue
		}
		perM := r.cpu / (float64(r.expect) / 1e6)
		ratios := "| | |"
		if loggy != nil {
			lperM := loggy.cpu / (float64(loggy.expect) / 1e6)
			ratios = fmt.Sprintf("| %.2fx | %.2fx |", perM/lperM, r.maxRSSMiB/loggy.maxRSSMiB)
		}
		fmt.Printf("| %s | %.0f | %.0f | %.2f | %.0f %s\n", r.name, float64(r.expect)/r.res.Seconds,
			float64(m.Bytes)/(1<<20)/r.res.Seconds, perM, r.maxRSSMiB, ratios)
	}
	fmt.Println("\nlines/s and MiB/s are wall-clock; CPU s / M lines is user+system CPU per million records (physical lines for the line-by-line contenders); ratios > 1 cost more than loggy.")
}

// cmdIdle measures the CPU loggy spends following 1000 files nobody writes to.
func cmdIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	dir := fs.String("dir", "", "scratch directory")
	n := fs.Int("files", 1000, "idle files")
	secs := fs.Int("seconds", 60, "how long to watch")
	_ = fs.Parse(args)
	_ = os.RemoveAll(*dir)
	for i := range *n {
		f, err := createContainer(*dir, "idle", fmt.Sprintf("pod-%04d", i), i)
		if err != nil {
			return err
		}
		_, err = f.WriteString("2026-11-24T10:00:00Z stdout F hello\n")
		if err := errors.Join(err, f.Close()); err != nil {
			return err
		}
	}
	var count atomic.Int64
	r, err := startLoggy(loggyConfig(*dir), func(_ context.Context, ld plog.Logs) error {
		count.Add(int64(ld.LogRecordCount()))
		return nil
	})
	if err != nil {
		return err
	}
	for count.Load() < int64(*n) {
		time.Sleep(50 * time.Millisecond)
	}
	before := cpuSeconds()
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	time.Sleep(time.Duration(*secs) * time.Second)
	used := cpuSeconds() - before
	fmt.Printf("\nidle: %d files followed for %ds: %.3f CPU s = %.2f%% of one core\n", *n, *secs, used, 100*used/float64(*secs))
	return r.Shutdown(context.Background())
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return tv(ru.Utime) + tv(ru.Stime)
}

// cmdLatency writes 10k lines/s into 10 files, each stamped with its write
// time, and measures when loggy hands each to the next consumer.
func cmdLatency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	dir := fs.String("dir", "", "scratch directory")
	rate := fs.Int("rate", 10000, "lines per second")
	secs := fs.Int("seconds", 20, "how long to write")
	_ = fs.Parse(args)
	_ = os.RemoveAll(*dir)
	const files = 10
	var ws []*bufio.Writer
	var fhs []*os.File
	for i := range files {
		f, err := createContainer(*dir, "lat", fmt.Sprintf("pod-%02d", i), i)
		if err != nil {
			return err
		}
		fhs, ws = append(fhs, f), append(ws, bufio.NewWriter(f))
	}
	var delays delayLog
	r, err := startLoggy(loggyConfig(*dir), func(_ context.Context, ld plog.Logs) error {
		delays.record(ld, "%d", nil)
		return nil
	})
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	tick := time.NewTicker(10 * time.Millisecond) // 100 writes a second, rate/100 lines each
	total := 0
	for end := time.Now().Add(time.Duration(*secs) * time.Second); time.Now().Before(end); <-tick.C {
		for k := range *rate / 100 {
			now := time.Now()
			fmt.Fprintf(ws[k%files], "%s stdout F %d latency probe\n", now.UTC().Format(time.RFC3339Nano), now.UnixNano())
			total++
		}
		for _, w := range ws {
			_ = w.Flush()
		}
	}
	tick.Stop()
	err = delays.wait(total, 10*time.Second)
	_ = r.Shutdown(context.Background())
	for _, f := range fhs {
		_ = f.Close()
	}
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	fmt.Printf("latency: %d lines at %d/s into %d files: write to delivery %s\n", total, *rate, files, delays.summary())
	return nil
}

// cmdFairness measures a quiet container's write-to-delivery delay while a
// noisy one floods: the noisy file starts with a backlog and keeps being
// written as fast as possible.
func cmdFairness(args []string) error {
	fs := flag.NewFlagSet("fairness", flag.ExitOnError)
	dir := fs.String("dir", "", "scratch directory")
	backlogMiB := fs.Int("backlog-mib", 256, "what the noisy container has written before loggy starts")
	secs := fs.Int("seconds", 10, "how long the quiet container writes (10 lines/s)")
	_ = fs.Parse(args)
	_ = os.RemoveAll(*dir)
	noisy, err := createContainer(*dir, "fair", "noisy", 0)
	if err != nil {
		return err
	}
	quiet, err := createContainer(*dir, "fair", "quiet", 1)
	if err != nil {
		return err
	}
	line := "2026-11-24T10:00:00Z stdout F noisy " + strings.Repeat("x", 150) + "\n"
	w := bufio.NewWriterSize(noisy, 1<<20)
	for written := 0; written < *backlogMiB<<20; written += len(line) {
		_, _ = w.WriteString(line)
	}
	_ = w.Flush()
	var delays delayLog
	var noisyCount atomic.Int64
	r, err := startLoggy(loggyConfig(*dir), func(_ context.Context, ld plog.Logs) error {
		delays.record(ld, "quiet %d", &noisyCount)
		return nil
	})
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() { // the noisy container keeps writing as fast as it can
		defer close(flooded)
		bw := bufio.NewWriterSize(noisy, 1<<20)
		for {
			select {
			case <-stop:
				_ = bw.Flush()
				return
			default:
				_, _ = bw.WriteString(line)
			}
		}
	}()
	total := *secs * 10
	for i := 0; i < total; i++ {
		now := time.Now()
		fmt.Fprintf(quiet, "%s stdout F quiet %d\n", now.UTC().Format(time.RFC3339Nano), now.UnixNano())
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-flooded
	err = delays.wait(total, 30*time.Second)
	_ = r.Shutdown(context.Background())
	if err != nil {
		return fmt.Errorf("fairness: %w", err)
	}
	fmt.Printf("fairness: a quiet container (10 lines/s) beside one flooding (%d MiB backlog, then writing flat out; %d of its records delivered meanwhile): quiet write to delivery %s\n",
		*backlogMiB, noisyCount.Load(), delays.summary())
	return nil
}

// delayLog collects write-to-delivery delays of records whose body carries
// their write time in unix nanoseconds.
type delayLog struct {
	mu sync.Mutex
	d  []time.Duration
}

// record takes the delays of ld's records that match format (one %d, the
// write time); the others are counted in other, if given.
func (l *delayLog) record(ld plog.Logs, format string, other *atomic.Int64) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		recs := rls.At(i).ScopeLogs().At(0).LogRecords()
		for j := 0; j < recs.Len(); j++ {
			var sent int64
			if _, err := fmt.Sscanf(recs.At(j).Body().Str(), format, &sent); err == nil {
				l.d = append(l.d, now.Sub(time.Unix(0, sent)))
			} else if other != nil {
				other.Add(1)
			}
		}
	}
}

func (l *delayLog) wait(n int, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		l.mu.Lock()
		got := len(l.d)
		l.mu.Unlock()
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d lines delivered", got, n)
		}
	}
}

func (l *delayLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	q := func(p float64) time.Duration { return l.d[int(p*float64(len(l.d)-1))].Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %s, p99 %s, max %s", q(0.5), q(0.99), q(1))
}

// createContainer lays out one container's log file under dir as kubelet does
// (var/log/pods plus the var/log/containers link) and opens it for writing.
func createContainer(dir, ns, pod string, i int) (*os.File, error) {
	pdir := filepath.Join(dir, "var/log/pods", fmt.Sprintf("%s_%s_%08x-0000-4000-8000-000000000000", ns, pod, i), "app")
	links := filepath.Join(dir, "var/log/containers")
	for _, d := range []string{pdir, links} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	p := filepath.Join(pdir, "0.log")
	if err := os.Symlink(p, filepath.Join(links, fmt.Sprintf("%s_%s_app-%064x.log", pod, ns, i))); err != nil {
		return nil, err
	}
	return os.Create(p)
}
