package loggyreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewID("file_storage")

	tests := []struct {
		id   component.ID
		want func(*Config)
	}{
		{id: component.NewID(metadata.Type), want: func(*Config) {}},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: func(c *Config) {
			c.Include = []string{"/host/var/log/containers/*.log"}
			c.Exclude = []string{}
			c.ExcludeSelf = false
			c.StartAt = startAtBeginning
			c.Format = "cri"
			c.PollInterval = 250 * time.Millisecond
			c.MaxLogSize = 512 << 10
			c.Storage = &storageID
			c.IncludeFilePath = true
			c.SeverityFromStream = false
			c.LogRoots = []string{"/host/var/log/pods"}
			c.MaxBatchSize = 200
			c.RateLimitPerContainer = 500
			c.ParseBody = "auto"
			c.Multiline = "auto"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, cfg.Validate())

			want := createDefaultConfig().(*Config)
			tt.want(want)
			assert.Equal(t, want, cfg)
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no include", func(c *Config) { c.Include = nil }, "include: at least one glob"},
		{"bad include glob", func(c *Config) { c.Include = []string{"/var/log/[*.log"} }, `include: bad glob "/var/log/[*.log"`},
		{"bad exclude glob", func(c *Config) { c.Exclude = []string{"[a-"} }, "exclude: bad glob"},
		{"start_at typo", func(c *Config) { c.StartAt = "begining" }, `start_at: "begining" is not one of beginning, end`},
		{"unknown format", func(c *Config) { c.Format = "json" }, `format: "json" is not one of auto, docker, cri`},
		{"zero poll", func(c *Config) { c.PollInterval = 0 }, "poll_interval: must be positive"},
		{"negative size", func(c *Config) { c.MaxLogSize = -1 }, "max_log_size: must be positive"},
		{"zero batch", func(c *Config) { c.MaxBatchSize = 0 }, "max_batch_size: must be positive"},
		{"unknown parse_body", func(c *Config) { c.ParseBody = "yaml" }, `parse_body: "yaml" is not one of none, auto, json, logfmt`},
		{"unknown multiline", func(c *Config) { c.Multiline = "java" }, `multiline: "java" is not one of none, auto`},
		{"negative rate", func(c *Config) { c.RateLimitPerContainer = -1 }, "rate_limit_per_container: must be 0 (no cap) or positive"},
		{"relative root", func(c *Config) { c.LogRoots = []string{"var/log/pods"} }, "log_roots: \"var/log/pods\" is not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tt.mutate(cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"2048", 2048, true},
		{"1MiB", 1 << 20, true},
		{"512 KiB", 512 << 10, true},
		{"1MB", 1000000, true},
		{"3GiB", 3 << 30, true},
		{"10B", 10, true},
		{"", 0, false},
		{"1.5MiB", 0, false},
		{"-1", 0, false},
		{"1TiB", 0, false},
		{"99999999999GiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b ByteSize
			err := b.UnmarshalText([]byte(tt.in))
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, b)
		})
	}
}
