package gitsync

import (
	"testing"
	"time"
)

// The first retries keep the documented schedule with a quarter of jitter;
// later ones are drawn below a doubling ceiling capped at MaxBackoff.
func TestRetryDelayFollowsTheScheduleThenCappedFullJitter(t *testing.T) {
	for _, tc := range []struct {
		retry  int
		lo, hi time.Duration // lo <= delay < hi
	}{
		{0, 100 * time.Millisecond, 125 * time.Millisecond},
		{1, 200 * time.Millisecond, 250 * time.Millisecond},
		{2, 400 * time.Millisecond, 500 * time.Millisecond},
		{3, 0, 800 * time.Millisecond},
		{4, 0, 1600 * time.Millisecond},
		{5, 0, MaxBackoff},
		{40, 0, MaxBackoff},
		{1 << 20, 0, MaxBackoff},
	} {
		var longest time.Duration
		for range 200 {
			d := retryDelay(tc.retry)
			if d < tc.lo || d >= tc.hi {
				t.Fatalf("retry %d waited %s, want [%s, %s)", tc.retry, d, tc.lo, tc.hi)
			}
			longest = max(longest, d)
		}
		// Full jitter spreads over the range: 200 draws stay in its lower
		// half only with probability 2^-200.
		if tc.lo == 0 && longest < tc.hi/2 {
			t.Errorf("retry %d: 200 waits all below %s", tc.retry, tc.hi/2)
		}
	}
}
