package tools_test

import (
	"context"
	"strings"
	"testing"

	"grite/store"
	"grite/tools"
)

// TestDoctorAcceptsTheViewOfAnEmptyWAL: an empty WAL's view records no
// head; one that an earlier grite caught up recorded the zero hash, and
// is just as current.
func TestDoctorAcceptsTheViewOfAnEmptyWAL(t *testing.T) {
	for _, tc := range []struct{ name, applied string }{
		{"no head recorded", ""},
		{"zero hash recorded", strings.Repeat("0", 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newCoordRepo(t).agent("a")
			ctx := context.Background()
			if tc.applied != "" {
				if err := a.s.Store().Update(ctx, func(tx *store.Tx) error { return tx.SetMeta("wal_head", tc.applied) }); err != nil {
					t.Fatal(err)
				}
			}
			out, err := tools.Doctor.Call(ctx, a.s, tools.DoctorInput{})
			if err != nil {
				t.Fatal(err)
			}
			if !out.Healthy {
				t.Fatalf("doctor: %+v", out.Checks)
			}
		})
	}
}
