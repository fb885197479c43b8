package e2e

import (
	"slices"
	"strings"
	"testing"
)

type changesOutput struct {
	Events []struct {
		EventID    string `json:"event_id"`
		IssueID    string `json:"issue_id"`
		Kind       string `json:"kind"`
		Actor      string `json:"actor"`
		ActorLabel string `json:"actor_label,omitempty"`
		TS         uint64 `json:"ts_unix_ms"`
		Summary    string `json:"summary"`
	} `json:"events"`
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

func events(t *testing.T, dir string, args ...string) changesOutput {
	t.Helper()
	var out changesOutput
	mustJSON(t, dir, &out, append([]string{"events"}, args...)...)
	return out
}

// drainEvents pages from since with --limit 1 and returns the event IDs.
func drainEvents(t *testing.T, dir, since string) ([]string, string) {
	t.Helper()
	var ids []string
	for range 100 {
		out := events(t, dir, "--since", since, "--limit", "1")
		for _, e := range out.Events {
			ids = append(ids, e.EventID)
		}
		since = out.NextCursor
		if !out.HasMore {
			return ids, since
		}
	}
	t.Fatal("the feed never ended")
	return nil, ""
}

// A cursor outlives a sync that re-appends the clone's local commits on
// top of the remote's, and a rebuild of the view: reading after it yields
// exactly the events it had not seen, paging or not, and nothing twice.
func TestEventsCursorAcrossSyncAndRebuild(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	create(t, a, "a one")
	create(t, a, "a two")
	cursor := events(t, a).NextCursor // a has seen its two local issues
	create(t, b, "b one")
	create(t, b, "b two")
	mustSync(t, b)
	mustSync(t, a) // pulls b's, re-appends a's on top, pushes
	titles := func(dir, since string) []string {
		var out []string
		for _, e := range events(t, dir, "--since", since).Events {
			out = append(out, e.Summary)
		}
		return out
	}
	want := []string{"b one", "b two"}
	if got := titles(a, cursor); !slices.Equal(got, want) {
		t.Fatalf("after the sync: %v, want %v", got, want)
	}
	if got, _ := drainEvents(t, a, cursor); len(got) != 2 {
		t.Fatalf("paging after the sync: %d events, want 2", len(got))
	}
	mustJSON(t, a, nil, "rebuild")
	if got := titles(a, cursor); !slices.Equal(got, want) {
		t.Fatalf("after a rebuild: %v, want %v", got, want)
	}
	// From the start, both clones list every event once.
	for _, dir := range []string{a, b} {
		mustSync(t, dir)
		ids, _ := drainEvents(t, dir, "")
		if len(ids) != 4 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 4 {
			t.Fatalf("from the start: %v", ids)
		}
	}
	mustFail(t, a, "invalid_args", 2, "events", "--since", "c1."+strings.Repeat("ab", 20)+".0")
	mustFail(t, a, "invalid_args", 2, "events", "--since", "tomorrow")
	mustFail(t, a, "invalid_args", 2, "events", "--kind", "Nope")
	mustFail(t, a, "invalid_args", 2, "events", "--wait", "2h")
}

// A waiting `grite events` returns the event another process writes, and
// the events a sync brings in.
func TestEventsWaitWokenByOtherProcesses(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	issue := create(t, b, "shared")
	mustSync(t, b)
	mustSync(t, a)
	wait := func(since string, kinds ...string) <-chan changesOutput {
		args := []string{"--since", since, "--wait", "60s"}
		for _, k := range kinds {
			args = append(args, "--kind", k)
		}
		got := make(chan changesOutput, 1)
		go func() {
			r := grite(t, a, append([]string{"events", "--json"}, args...)...)
			var out changesOutput
			if r.code != 0 || jsonUnmarshalData(r.stdout, &out) != nil {
				t.Errorf("waiting events: %s", r)
			}
			got <- out
		}()
		return got
	}
	now := events(t, a, "--since", "now").NextCursor
	got := wait(now, "CommentAdded")
	mustJSON(t, a, nil, "issue", "comment", issue, "--body", "from another process")
	if out := <-got; len(out.Events) != 1 || out.Events[0].Summary != "from another process" {
		t.Fatalf("woken by a write: %+v", out)
	}
	now = events(t, a, "--since", "now").NextCursor
	got = wait(now)
	mustJSON(t, b, nil, "issue", "comment", issue, "--body", "from the other clone")
	mustSync(t, b)
	mustSync(t, a)
	if out := <-got; len(out.Events) == 0 || out.Events[0].Summary != "from the other clone" {
		t.Fatalf("woken by a sync: %+v", out)
	}
}

// jsonUnmarshalData decodes the data of a --json envelope.
func jsonUnmarshalData(stdout string, v any) error {
	var env envelope
	if err := jsonUnmarshal([]byte(stdout), &env); err != nil {
		return err
	}
	return jsonUnmarshal(env.Data, v)
}
