package e2e

import (
	"slices"
	"strings"
	"testing"
)

// An edge shows on both issues, worded from each one's side: "A blocks B"
// is "blocks B" on A and "blocked by A" on B, in dep list (human and
// JSON) and in issue show.
func TestDepRelationsShowBothDirections(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	a := create(t, dir, "blocker A")
	b := create(t, dir, "middle B")
	c := create(t, dir, "library C")
	e := create(t, dir, "cousin E")
	mustJSON(t, dir, nil, "issue", "dep", "add", a, "--target", b, "--type", "blocks")
	mustJSON(t, dir, nil, "issue", "dep", "add", b, "--target", c, "--type", "depends_on")
	mustJSON(t, dir, nil, "issue", "dep", "add", e, "--target", b, "--type", "related_to")

	for _, tc := range []struct {
		id   string
		want []string // "relation id"
	}{
		{a, []string{"blocks " + b}},
		{b, []string{"blocked_by " + a, "depends_on " + c, "related_to " + e}},
		{c, []string{"needed_by " + b}},
		{e, []string{"related_to " + b}},
	} {
		var out struct {
			Relations []struct {
				Relation string `json:"relation"`
				IssueID  string `json:"issue_id"`
			} `json:"relations"`
		}
		mustJSON(t, dir, &out, "issue", "dep", "list", tc.id)
		got := []string{}
		for _, r := range out.Relations {
			got = append(got, r.Relation+" "+r.IssueID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("dep list %s relations: %v, want %v", tc.id[:8], got, tc.want)
		}
	}

	human := func(args ...string) string {
		t.Helper()
		r := grite(t, dir, args...)
		if r.code != 0 {
			t.Fatalf("%s", r)
		}
		return r.stdout
	}
	list := human("issue", "dep", "list", b)
	for _, want := range []string{"blocked by  " + a[:8], "depends on  " + c[:8], "related to  " + e[:8]} {
		if !strings.Contains(list, want) {
			t.Errorf("dep list %s:\n%s\nwant a line with %q", b[:8], list, want)
		}
	}
	if list := human("issue", "dep", "list", a); !strings.Contains(list, "blocks  "+b[:8]) {
		t.Errorf("dep list %s:\n%s\nwant it to say it blocks %s", a[:8], list, b[:8])
	}
	if list := human("issue", "dep", "list", c); !strings.Contains(list, "needed by  "+b[:8]) {
		t.Errorf("dep list %s:\n%s\nwant it to say it is needed by %s", c[:8], list, b[:8])
	}
	if list := human("issue", "dep", "list", b, "--reverse"); !strings.Contains(list, "blocked by") || strings.Contains(list, "depends on") {
		t.Errorf("dep list --reverse %s:\n%s\nwant the incoming edges only", b[:8], list)
	}
	show := human("issue", "show", b)
	for _, want := range []string{"blocked by: " + a[:8], "depends on: " + c[:8], "related to: " + e[:8]} {
		if !strings.Contains(show, want) {
			t.Errorf("issue show %s:\n%s\nwant a line with %q", b[:8], show, want)
		}
	}
}
