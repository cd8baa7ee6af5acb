package parse

import (
	"strings"
	"testing"
)

func TestDetectLevel(t *testing.T) {
	cases := []struct {
		body string
		want Level
	}{
		{"", LevelUnknown},
		{"   ", LevelUnknown},
		{"hello world", LevelUnknown},
		{"INFO starting", LevelInfo},
		{"info", LevelInfo},
		{"  Info: starting", LevelInfo},
		{"[INFO] starting", LevelInfo},
		{"[info ] starting", LevelUnknown},
		{"NOTICE ready", LevelInfo},
		{"TRACE x", LevelTrace},
		{"debug: x", LevelDebug},
		{"DEBUG\tx", LevelDebug},
		{"WARN x", LevelWarn},
		{"Warning: disk", LevelWarn},
		{"[warning] disk", LevelWarn},
		{"WARN[0000] logrus tty", LevelWarn},
		{"ERROR x", LevelError},
		{"ERR x", LevelError},
		{"error: x", LevelError},
		{"FATAL x", LevelFatal},
		{"CRITICAL x", LevelFatal},
		{"panic: runtime error", LevelFatal},
		{"Information about x", LevelUnknown},
		{"Errors happen", LevelUnknown},
		{"infoX", LevelUnknown},
		{"info-x", LevelUnknown},
		{"[INFO", LevelUnknown},
		{"2024-11-24 18:10:48,123 ERROR db down", LevelError},
		{"2024/11/24 18:10:48 [error] 7#7: nginx", LevelError},
		{"18:10:48 WARN x", LevelWarn},
		{"1 2 3 ERROR too far", LevelUnknown},
		{"I1124 18:10:48.123456       1 main.go:10] started", LevelInfo},
		{"W1124 18:10:48.123456 x", LevelWarn},
		{"E1124 18:10:48.123456 x", LevelError},
		{"F1124 18:10:48.123456 x", LevelFatal},
		{"X1124 18:10:48.123456 x", LevelUnknown},
		{"I112 x", LevelUnknown},
		{"I11245 x", LevelUnknown},
		{`time="2024-11-24T18:10:48Z" level=warning msg="disk"`, LevelWarn},
		{`ts=2024-11-24T18:10:48Z lvl=error msg=x`, LevelError},
		{`severity=debug msg=x`, LevelDebug},
		{`level="info" msg=x`, LevelInfo},
		{`level=INFO`, LevelInfo},
		{`sublevel=error msg=x`, LevelUnknown},
		{`level=bogus msg="level=error"`, LevelUnknown},
		{`msg=x ` + strings.Repeat("a", 64) + ` level=error`, LevelUnknown},
		{`{"level":"warn","msg":"x"}`, LevelWarn},
		{`{"level" : "ERROR"}`, LevelError},
		{`{"time":"2024-11-24T18:10:48.123456789+01:00","level":"INFO","msg":"x"}`, LevelInfo},
		{`{"timestamp":"2024-11-24T18:10:48.123456789Z","severity":"CRITICAL"}`, LevelFatal},
		{`{"lvl":"debug"}`, LevelDebug},
		{`{"level":30,"msg":"pino"}`, LevelInfo},
		{`{"level":50}`, LevelError},
		{`{"level":60}`, LevelFatal},
		{`{"level":35}`, LevelUnknown},
		{`{"level":300}`, LevelUnknown},
		{`{"msg":"level","x":"warn"}`, LevelUnknown},
		{`{"msg":"\"level\":\"error\"","level":"info"}`, LevelInfo},
		{`{"msg":"` + strings.Repeat("a", 70) + `","level":"error"}`, LevelUnknown},
		{`{"level":"verbose"}`, LevelUnknown},
		{`{"level":`, LevelUnknown},
		{`{"level":"info`, LevelUnknown},
		{"{not json} ERROR", LevelUnknown},
		{"\xff\xfe ERROR", LevelUnknown},
	}
	for _, c := range cases {
		if got := DetectLevel([]byte(c.body)); got != c.want {
			t.Errorf("DetectLevel(%q) = %d, want %d", c.body, got, c.want)
		}
	}
}

func TestDetectLevelNoAlloc(t *testing.T) {
	bodies := [][]byte{
		[]byte("2024-11-24 18:10:48,123 ERROR db down"),
		[]byte(`{"time":"2024-11-24T18:10:48.123456789+01:00","level":"INFO","msg":"x"}`),
		[]byte(`time="2024-11-24T18:10:48Z" level=warning msg="disk"`),
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, b := range bodies {
			DetectLevel(b)
		}
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
