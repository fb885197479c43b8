package tools

import (
	"errors"
	"testing"
	"time"

	"grite/actor"
	"grite/gitsync"
)

// The retry budget comes from the call, else the [sync] config, else the
// default; --retry-budget reads durations and plain seconds.
func TestRetryBudgetPrecedenceAndParsing(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	withConfig := actor.RepoConfig{Sync: &actor.SyncConfig{RetryBudgetSeconds: f(90)}}
	for _, tc := range []struct {
		name string
		flag string
		cfg  actor.RepoConfig
		want time.Duration
		code Code // set when the budget is refused
	}{
		{"default", "", actor.RepoConfig{}, gitsync.DefaultRetryBudget, ""},
		{"config", "", withConfig, 90 * time.Second, ""},
		{"flag beats config", "2m", withConfig, 2 * time.Minute, ""},
		{"seconds", "12.5", actor.RepoConfig{}, 12500 * time.Millisecond, ""},
		{"zero: scheduled retries only", "0", withConfig, 0, ""},
		{"negative", "-1s", actor.RepoConfig{}, 0, CodeInvalidArgs},
		{"too long", "2h", actor.RepoConfig{}, 0, CodeInvalidArgs},
		{"not a duration", "soon", actor.RepoConfig{}, 0, CodeInvalidArgs},
		{"NaN", "NaN", actor.RepoConfig{}, 0, CodeInvalidArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secs, err := ParseSeconds("retry-budget", tc.flag)
			var got time.Duration
			if err == nil {
				got, err = retryBudget(secs, tc.cfg)
			}
			var te *Error
			switch {
			case tc.code != "" && (!errors.As(err, &te) || te.Code != tc.code):
				t.Fatalf("budget %q: err %v, want %s", tc.flag, err, tc.code)
			case tc.code == "" && err != nil:
				t.Fatalf("budget %q: %v", tc.flag, err)
			case tc.code == "" && got != tc.want:
				t.Fatalf("budget %q: %s, want %s", tc.flag, got, tc.want)
			}
		})
	}
}
