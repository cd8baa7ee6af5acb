package loggyreceiver

import "time"

// bucket is a token bucket of records per second for one container, shared by
// its current and rotated files. A burst of one second's worth passes.
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
	shed   int64     // since the last warning
	warned time.Time // last warning, to log at most once a minute per container
}

func newBucket(rate float64, now time.Time) *bucket {
	return &bucket{rate: rate, tokens: rate, last: now}
}

// allow takes a token if there is one.
func (b *bucket) allow(now time.Time) bool {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.rate, b.tokens+b.rate*d.Seconds())
		b.last = now
	}
	if b.tokens < 1 {
		b.shed++
		return false
	}
	b.tokens--
	return true
}
