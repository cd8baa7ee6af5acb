package loggyreceiver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/discovery"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/k8spath"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/metadata"
	"github.com/loggy-otel/loggy/receiver/loggyreceiver/internal/parse"
)

// BenchmarkRecordBuilding is the receiver's per-line work after reading:
// parse a 200-byte CRI line, merge, and append the record to a batch (handed
// to a nop consumer every max_batch_size lines). ns/op and allocs/op are per line.
func BenchmarkRecordBuilding(b *testing.B) {
	for _, format := range []string{"cri", "docker"} {
		b.Run(format, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			r, err := newLogsReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			if r.tel, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings); err != nil {
				b.Fatal(err)
			}
			f := newFollower(r, parse.Auto, nil, nil, nil, nil)
			fs := &fileState{
				target: discovery.Target{Meta: k8spath.Parse(
					"/var/log/containers/web-7d4b9c-x2x9q_shop_nginx-"+strings.Repeat("a", 64)+".log",
					"/var/log/pods/shop_web-7d4b9c-x2x9q_ec552847-28ce-4509-8781-2cc561f8a02a/nginx/0.log")},
				parser: parse.NewParser(parse.Auto),
				merger: parse.NewMerger(int(cfg.MaxLogSize)),
			}
			msg := `10.42.1.17 - - [24/Nov/2026:10:15:00 +0000] "GET /api/v1/orders/4711 HTTP/1.1" 200 512 "-" "Mozilla/5.0"`
			line := fmt.Sprintf("2026-11-24T10:15:00.123456789Z stdout F %s", msg)
			if format == "docker" {
				line = fmt.Sprintf(`{"log":"%s\n","stream":"stdout","time":"2026-11-24T10:15:00.123456789Z"}`, strings.ReplaceAll(msg, `"`, `\"`))
			}
			line += strings.Repeat(" ", max(0, 200-len(line)))
			raw := []byte(line)
			ctx, now := context.Background(), time.Now()
			b.SetBytes(int64(len(raw) + 1))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.line(ctx, fs, raw, int64(i), false, now)
			}
			b.StopTimer()
			f.flush(ctx)
			r.tel.Shutdown()
		})
	}
}
