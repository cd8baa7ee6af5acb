package loggyreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/checkpoint"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/discovery"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8smeta"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/metadata"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/tail"
)

// logsReceiver owns the lifecycle; the follower goroutine does the work.
type logsReceiver struct {
	set    receiver.Settings
	cfg    *Config
	next   consumer.Logs
	obs    *receiverhelper.ObsReport
	tel    *metadata.TelemetryBuilder
	client storage.Client
	meta   *k8smeta.Cache // pod metadata from the API, when k8s_metadata is enabled
	cancel context.CancelFunc
	done   chan struct{}
}

func newLogsReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*logsReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "file",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &logsReceiver{set: set, cfg: cfg, next: next, obs: obs}, nil
}

func (r *logsReceiver) Start(ctx context.Context, host component.Host) error {
	format, err := parse.ParseFormat(r.cfg.Format)
	if err != nil {
		return err
	}
	opts := discovery.Options{Include: r.cfg.Include, Exclude: r.cfg.Exclude, LogRoots: r.cfg.LogRoots}
	if r.cfg.ExcludeSelf {
		opts.SelfNamespace, opts.SelfPod = os.Getenv("K8S_POD_NAMESPACE"), os.Getenv("K8S_POD_NAME")
	}
	scanner, err := discovery.NewScanner(opts)
	if err != nil {
		return err
	}
	r.client, err = storageClient(ctx, host, r.cfg.Storage, r.set.ID)
	if err != nil {
		return err
	}
	r.tel, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings)
	if err != nil {
		return err
	}
	store := checkpoint.New(r.client)
	saved, err := store.Load(ctx)
	if err != nil {
		r.set.Logger.Warn("Some checkpoints could not be read; those files start per start_at", zap.Error(err))
	}
	watcher, err := newWatcher(r.set.Logger)
	if err != nil {
		r.set.Logger.Warn("File events unavailable; relying on the rescan every poll_interval", zap.Error(err))
		watcher = nil
	}
	if mc := r.cfg.K8sMetadata; mc.Enabled {
		if mc.NodeName == "" {
			mc.NodeName = os.Getenv("K8S_NODE_NAME")
		}
		if r.meta, err = newK8sCache(mc, r.set.Logger); err != nil {
			if watcher != nil {
				_ = watcher.Close()
			}
			return fmt.Errorf("k8s_metadata: %w", err)
		}
		r.meta.Start(ctx, 10*time.Second)
	}
	f := newFollower(r, format, scanner, watcher, store, saved)

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		f.run(runCtx)
	}()
	return nil
}

func (r *logsReceiver) Shutdown(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	var err error
	select {
	case <-r.done:
	case <-ctx.Done():
		err = fmt.Errorf("loggy: follower did not stop: %w", ctx.Err())
	}
	if r.meta != nil {
		r.meta.Stop()
	}
	if r.client != nil {
		err = errors.Join(err, r.client.Close(ctx))
	}
	if r.tel != nil {
		r.tel.Shutdown()
	}
	return err
}

// newWatcher and openFile are variables so tests can take file events away
// and refuse permission (tests run as root, which reads any file).
var (
	newWatcher  = discovery.NewWatcher
	openFile    = tail.Open
	newK8sCache = k8smeta.NewFromConfig
)

func storageClient(ctx context.Context, host component.Host, id *component.ID, self component.ID) (storage.Client, error) {
	if id == nil {
		return nil, nil
	}
	ext, ok := host.GetExtensions()[*id]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q not found", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", id)
	}
	return se.GetClient(ctx, component.KindReceiver, self, "")
}
