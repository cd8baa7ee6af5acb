// Command filelog is make bench's contender for contrib's filelog receiver
// (v0.160.0, the newest that builds here) with the container operator, the
// setup its documentation gives for Kubernetes logs. It is its own module so
// loggy's go.mod never depends on it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

func main() {
	dir := flag.String("dir", "", "node directory")
	expect := flag.Int64("expect", 0, "records to wait for")
	flag.Parse()
	if err := run(*dir, *expect); err != nil {
		fmt.Fprintln(os.Stderr, "filelog:", err)
		os.Exit(1)
	}
}

func run(dir string, expect int64) error {
	start := time.Now()
	f := filelogreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	conf := confmap.NewFromStringMap(map[string]any{
		"include":              []any{filepath.Join(dir, "var/log/pods/*/*/*.log")},
		"start_at":             "beginning",
		"include_file_path":    true,
		"max_concurrent_files": 1024,
		"operators":            []any{map[string]any{"type": "container"}},
	})
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	var count atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	next, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if count.Add(int64(ld.LogRecordCount())) >= expect {
			once.Do(func() { close(done) })
		}
		return nil
	})
	if err != nil {
		return err
	}
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		return err
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return err
	}
	<-done
	b, _ := json.Marshal(map[string]any{"count": count.Load(), "seconds": time.Since(start).Seconds()})
	fmt.Println(string(b))
	return r.Shutdown(context.Background())
}
