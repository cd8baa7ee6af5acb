package loggyreceiver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/body"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/discovery"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8smeta"
)

// Config is the loggy receiver's configuration. Keys and defaults are part of the
// public contract; see the README's configuration reference.
type Config struct {
	// Include lists globs of log files to follow; symlinks are resolved.
	Include []string `mapstructure:"include"`
	// Exclude lists globs matched against the same paths as Include.
	Exclude []string `mapstructure:"exclude"`
	// ExcludeSelf skips the collector's own pod, named by the K8S_POD_NAME and
	// K8S_POD_NAMESPACE environment variables, so its output never loops back.
	ExcludeSelf bool `mapstructure:"exclude_self"`
	// StartAt is where files found at the first start without a checkpoint are
	// read from: "beginning" or "end". Files created later are always read whole.
	StartAt string `mapstructure:"start_at"`
	// Format is "auto" (detected per line), "docker" or "cri".
	Format string `mapstructure:"format"`
	// PollInterval is the safety rescan period; fsnotify events drive normal reading.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// MaxLogSize caps a record, partial lines merged; longer records are cut and
	// flagged with log.truncated.
	MaxLogSize ByteSize `mapstructure:"max_log_size"`
	// Storage is the id of a storage extension that keeps file offsets across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// IncludeFilePath adds the log.file.path attribute to every record.
	IncludeFilePath bool `mapstructure:"include_file_path"`
	// SeverityFromStream maps stdout to INFO and stderr to ERROR unless the body
	// names a level itself.
	SeverityFromStream bool `mapstructure:"severity_from_stream"`
	// LogRoots are the directories symlinked files may resolve into. A symlink
	// whose target lies elsewhere is not followed, so a crafted link cannot make
	// the agent read arbitrary host files.
	LogRoots []string `mapstructure:"log_roots"`
	// MaxBatchSize bounds the number of records handed to the next consumer at once.
	MaxBatchSize int `mapstructure:"max_batch_size"`
	// ParseBody turns structured text into a map body: "none", "auto" (a JSON
	// object or logfmt), "json" or "logfmt". Level, time and trace context are
	// then taken from common fields. Text that does not parse stays text.
	ParseBody string `mapstructure:"parse_body"`
	// Multiline joins the lines of a stack trace (Java, Python, Go, Node.js,
	// Ruby) into one record: "none" or "auto".
	Multiline string `mapstructure:"multiline"`
	// K8sMetadata adds pod labels, selected annotations, the owning workload and
	// the node from the Kubernetes API, and skips pods annotated
	// loggy.io/exclude: "true". Off by default; it needs RBAC to watch pods.
	K8sMetadata k8smeta.Config `mapstructure:"k8s_metadata"`
	// RateLimitPerContainer caps the records per second one container may send
	// (0: no cap). What is over the cap is dropped and counted, so one runaway
	// container cannot flood the backend or starve the others.
	RateLimitPerContainer float64 `mapstructure:"rate_limit_per_container"`

	// prevent unkeyed literal initialization
	_ struct{}
}

const (
	startAtBeginning = "beginning"
	startAtEnd       = "end"
)

var _ component.Config = (*Config)(nil)

// Validate checks the configuration before the receiver is created.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Include) == 0 {
		errs = append(errs, errors.New("include: at least one glob is required"))
	}
	errs = append(errs, discovery.Options{Include: c.Include, Exclude: c.Exclude, LogRoots: c.LogRoots}.Validate())
	switch c.StartAt {
	case startAtBeginning, startAtEnd:
	default:
		errs = append(errs, fmt.Errorf("start_at: %q is not one of beginning, end", c.StartAt))
	}
	switch c.Format {
	case "auto", "docker", "cri":
	default:
		errs = append(errs, fmt.Errorf("format: %q is not one of auto, docker, cri", c.Format))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval: must be positive, got %s", c.PollInterval))
	}
	if c.MaxLogSize <= 0 {
		errs = append(errs, fmt.Errorf("max_log_size: must be positive, got %d", c.MaxLogSize))
	}
	if c.MaxBatchSize <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_size: must be positive, got %d", c.MaxBatchSize))
	}
	if _, err := body.ParseMode(c.ParseBody); err != nil {
		errs = append(errs, err)
	}
	if c.Multiline != "none" && c.Multiline != "auto" {
		errs = append(errs, fmt.Errorf("multiline: %q is not one of none, auto", c.Multiline))
	}
	errs = append(errs, c.K8sMetadata.Validate())
	if c.RateLimitPerContainer < 0 {
		errs = append(errs, fmt.Errorf("rate_limit_per_container: must be 0 (no cap) or positive, got %v", c.RateLimitPerContainer))
	}
	return errors.Join(errs...)
}

// ByteSize is a size in bytes that also reads "512KiB", "1MiB", "1MB" or "2048".
type ByteSize int64

// UnmarshalText parses a size with an optional B, KB/KiB, MB/MiB or GB/GiB suffix.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
		{"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("invalid size %q: want a whole number with an optional B, KiB, MiB, GiB, KB, MB or GB suffix", string(text))
	}
	*b = ByteSize(n * mult)
	return nil
}
