package parse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

// strictRFC3339 is the grammar ParseTime promises to accept (ranges aside).
var strictRFC3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// checkTime compares ParseTime with time.Parse on s. time.Parse is more
// lenient (more than 9 fraction digits, ',' as separator, one-digit
// fields), so the check is: whatever ParseTime accepts, time.Parse accepts
// with the same instant; whatever time.Parse accepts in the strict grammar
// and in int64 range, ParseTime accepts.
func checkTime(t *testing.T, s string) {
	t.Helper()
	got, ok := ParseTime([]byte(s))
	ref, err := time.Parse(time.RFC3339Nano, s)
	inRange := err == nil && !ref.Before(minTime) && !ref.After(maxTime)
	switch {
	case ok && !inRange:
		t.Fatalf("ParseTime(%q) = %d, but time.Parse: %v (or out of range)", s, got, err)
	case ok && got != ref.UnixNano():
		t.Fatalf("ParseTime(%q) = %d, time.Parse gives %d", s, got, ref.UnixNano())
	case !ok && inRange && strictRFC3339.MatchString(s):
		t.Fatalf("ParseTime(%q) failed, time.Parse gives %v", s, ref)
	}
}

func TestParseTimeTable(t *testing.T) {
	good := []string{
		"2024-11-24T18:10:48Z",
		"2024-11-24T18:10:48.1Z",
		"2024-11-24T18:10:48.12Z",
		"2024-11-24T18:10:48.123Z",
		"2024-11-24T18:10:48.1234Z",
		"2024-11-24T18:10:48.12345Z",
		"2024-11-24T18:10:48.123456Z",
		"2024-11-24T18:10:48.1234567Z",
		"2024-11-24T18:10:48.12345678Z",
		"2024-11-24T18:10:48.123456789Z",
		"2024-11-24T18:10:48.000000001Z",
		"2024-11-24T23:40:48.5+05:30",
		"2024-11-24T10:10:48.999999999-08:00",
		"2024-11-24T18:10:48+00:00",
		"2024-11-24T18:10:48-00:00",
		"2024-11-24T18:10:48+23:59",
		"2024-11-24T18:10:48-23:59",
		"2024-02-29T00:00:00Z",
		"2000-02-29T12:00:00Z",
		"1970-01-01T00:00:00Z",
		"1969-12-31T23:59:59.999999999Z",
		"1970-01-01T05:30:00+05:30",
		"2024-12-31T23:59:59.999999999Z",
		"2025-01-01T00:00:00Z",
		"2024-03-01T00:00:00Z",
		"1900-03-01T00:00:00Z",
		"1677-09-21T00:12:43.145224192Z", // lowest int64 nanosecond
		"2262-04-11T23:47:16.854775807Z", // highest int64 nanosecond
		"2262-04-12T01:17:16.854775807+01:30",
	}
	for _, s := range good {
		got, ok := ParseTime([]byte(s))
		if !ok || got != ts(t, s) {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", s, got, ok, ts(t, s))
		}
		checkTime(t, s)
	}
	bad := []string{
		"",
		"2024-11-24",
		"2024-11-24T18:10:48",
		"2024-11-24T18:10:48z",
		"2024-11-24t18:10:48Z",
		"2024-11-24 18:10:48Z",
		"2024-11-24T18:10:48.Z",
		"2024-11-24T18:10:48,5Z",
		"2024-11-24T18:10:48.1234567890Z",
		"2024-11-24T18:10:48.123456789",
		"2024-11-24T18:10:48Z ",
		"2024-11-24T18:10:48ZZ",
		"2024-11-24T18:10:48+0530",
		"2024-11-24T18:10:48+05",
		"2024-11-24T18:10:48+05:3",
		"2024-11-24T18:10:48+24:00",
		"2024-11-24T18:10:48+05:60",
		"2024-11-24T18:10:48+05:30:00",
		"2024-13-24T18:10:48Z",
		"2024-00-24T18:10:48Z",
		"2024-11-00T18:10:48Z",
		"2024-11-31T18:10:48Z",
		"2023-02-29T18:10:48Z",
		"1900-02-29T18:10:48Z",
		"2024-11-24T24:00:00Z",
		"2024-11-24T18:60:48Z",
		"2024-11-24T18:10:60Z",
		"2024-1-24T18:10:48Z",
		"+2024-11-24T18:10:48Z",
		"20x4-11-24T18:10:48Z",
		"2024-11-24T18:10:4xZ",
		"2024-11-24T18:10:48.12x4Z",
		"1677-09-21T00:12:43.145224191Z", // one below int64
		"2262-04-11T23:47:16.854775808Z", // one above int64
		"0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z",
		"\xff\xfe\x00",
	}
	for _, s := range bad {
		if got, ok := ParseTime([]byte(s)); ok {
			t.Errorf("ParseTime(%q) = %d, want failure", s, got)
		}
		checkTime(t, s)
	}
}

// TestParseTimeRandom compares with time.Parse over random instants across
// the int64 range, all fraction lengths and many offsets, and over random
// single-byte corruptions of them.
func TestParseTimeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC}
	for _, off := range []int{-12 * 3600, -8 * 3600, -3*3600 - 30*60, 3600, 5*3600 + 30*60, 5*3600 + 45*60, 14 * 3600, 23*3600 + 59*60} {
		zones = append(zones, time.FixedZone(fmt.Sprint(off), off))
	}
	const junk = "0123456789-+:.TZz ,x\x00"
	for n := 0; n < 200000; n++ {
		ns := int64(r.Uint64()) // the whole int64 range
		if n%2 == 0 {
			ns = time.Date(2000+r.IntN(50), 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() + r.Int64N(365*24*3600*1e9)
		}
		tm := time.Unix(0, ns).In(zones[r.IntN(len(zones))])
		// Cut the fraction to 0-9 digits so that every length occurs,
		// including ones with trailing zeros RFC3339Nano would drop.
		digits := r.IntN(10)
		layout := "2006-01-02T15:04:05Z07:00"
		if digits > 0 {
			layout = "2006-01-02T15:04:05." + "000000000"[:digits] + "Z07:00"
		}
		s := tm.Format(layout)
		if n%4 == 1 {
			s = tm.Format(time.RFC3339Nano)
		}
		checkTime(t, s)
		if _, ok := ParseTime([]byte(s)); !ok && !tm.Before(minTime.Add(24*time.Hour)) && !tm.After(maxTime.Add(-24*time.Hour)) {
			t.Fatalf("ParseTime(%q) failed", s)
		}
		b := []byte(s)
		b[r.IntN(len(b))] = junk[r.IntN(len(junk))]
		checkTime(t, string(b))
	}
}

func TestParseTimeNoAlloc(t *testing.T) {
	b := []byte("2024-11-24T23:40:48.123456789+05:30")
	if a := testing.AllocsPerRun(100, func() { ParseTime(b) }); a != 0 {
		t.Fatalf("%v allocations, want 0", a)
	}
}
