package loggyreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8smeta"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/metadata"
)

// NewFactory returns the factory of the loggy receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Include:            []string{"/var/log/containers/*.log"},
		Exclude:            []string{"/var/log/containers/*_kube-system_*.log"},
		ExcludeSelf:        true,
		StartAt:            startAtEnd,
		Format:             "auto",
		PollInterval:       time.Second,
		MaxLogSize:         1 << 20,
		SeverityFromStream: true,
		LogRoots:           []string{"/var/log/pods", "/var/lib/docker/containers"},
		MaxBatchSize:       1000,
		ParseBody:          "none",
		Multiline:          "none",
		K8sMetadata:        k8smeta.Config{DeletedTTL: 2 * time.Minute},
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newLogsReceiver(set, cfg.(*Config), next)
}
