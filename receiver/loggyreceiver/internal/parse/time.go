package parse

import "math"

// ParseTime parses RFC3339Nano as runtimes write it:
// "2006-01-02T15:04:05.999999999Z07:00" with 0-9 fraction digits and either
// 'Z' or a ±hh:mm offset. It exists because time.Parse costs several times
// more and this runs once per line. Anything else, including out-of-range
// fields and instants that do not fit in int64 nanoseconds, gives ok=false.
func ParseTime(b []byte) (unixNano int64, ok bool) {
	// Shortest form: 2006-01-02T15:04:05Z
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits4(b[0:4])
	month, ok2 := digits2(b[5:7])
	day, ok3 := digits2(b[8:10])
	hour, ok4 := digits2(b[11:13])
	minute, ok5 := digits2(b[14:16])
	sec, ok6 := digits2(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year == 0 || month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false // year 0 is far outside the int64 range anyway
	}
	leap := isLeap(uint(year))
	if day < 1 || day > daysIn(month, leap) {
		return 0, false
	}

	i := 19
	var nsec int64
	if b[i] == '.' {
		i++
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if n == 9 {
				return 0, false
			}
			nsec = nsec*10 + int64(b[i]-'0')
			i++
			n++
		}
		if n == 0 {
			return 0, false
		}
		nsec *= pow10[9-n]
	}

	var offset int64
	switch rest := b[i:]; {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits2(rest[1:3])
		om, okm := digits2(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}

	s := daysSinceEpoch(uint(year), month, day, leap)*86400 + int64(hour*3600+minute*60+sec) - offset
	// s*1e9+nsec must fit in int64. Go's integer division truncates toward
	// zero, so the bounds are asymmetric by one second.
	const maxS, minS = math.MaxInt64 / 1_000_000_000, math.MinInt64 / 1_000_000_000
	switch {
	case s > maxS || s < minS-1:
		return 0, false
	case s == maxS && nsec > math.MaxInt64-maxS*1e9:
		return 0, false
	case s == minS-1:
		// Only the last part of the lowest second fits.
		if nsec < math.MinInt64-(minS-1)*1e9 {
			return 0, false
		}
		return (s+1)*1e9 + (nsec - 1e9), true
	}
	return s*1e9 + nsec, true
}

var pow10 = [10]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

func digits2(b []byte) (int, bool) {
	d0, d1 := b[0]-'0', b[1]-'0'
	return int(d0)*10 + int(d1), d0 <= 9 && d1 <= 9
}

func digits4(b []byte) (int, bool) {
	hi, ok1 := digits2(b[0:2])
	lo, ok2 := digits2(b[2:4])
	return hi*100 + lo, ok1 && ok2
}

// daysBefore[m] is the number of days before month m in a non-leap year.
var daysBefore = [13]uint{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

func isLeap(year uint) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}

func daysIn(month int, leap bool) int {
	switch month {
	case 2:
		if leap {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch counts days from 1970-01-01 to a valid proleptic Gregorian
// date in year 1 or later. Unsigned arithmetic keeps the divisions cheap.
func daysSinceEpoch(year uint, month, day int, leap bool) int64 {
	const epoch = 365*1970 + 1969/4 - 1969/100 + 1969/400
	y := year - 1
	d := 365*year + y/4 - y/100 + y/400 + daysBefore[month] + uint(day) - 1
	if leap && month > 2 {
		d++
	}
	return int64(d) - epoch
}
