package e2e

import (
	"strings"
	"testing"
)

// A change the issue already has is reported as such, with no event
// written; bad input is refused. The CLI and MCP say the same.
func TestNoOpsAreReportedAndBadInputRefused(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	x := create(t, dir, "x", "--label", "bug")
	y := create(t, dir, "y")
	mustJSON(t, dir, nil, "issue", "close", x)
	mustJSON(t, dir, nil, "issue", "dep", "add", x, "--target", y, "--type", "blocks")

	type write struct {
		EventID string `json:"event_id"`
		Action  string `json:"action"`
		Changed bool   `json:"changed"`
		Message string `json:"message"`
	}
	for _, tc := range []struct {
		name    string
		args    []string
		message string // in the JSON message and the human line
	}{
		{"close a closed issue", []string{"issue", "close", x}, "already closed"},
		{"reopen an open issue", []string{"issue", "reopen", y}, "already open"},
		{"remove a label it lacks", []string{"issue", "label", "remove", x, "--label", "nope"}, `has no label "nope"`},
		{"add a label it has", []string{"issue", "label", "add", x, "--label", "bug"}, `already has label "bug"`},
		{"duplicate dep add", []string{"issue", "dep", "add", x, "--target", y, "--type", "blocks"}, "already blocks"},
		{"remove a dep that never existed", []string{"issue", "dep", "remove", y, "--target", x, "--type", "depends_on"}, "has no depends_on edge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := walCount(t, dir)
			var out write
			mustJSON(t, dir, &out, tc.args...)
			if out.Changed || out.EventID != "" || !strings.Contains(out.Message, tc.message) {
				t.Errorf("%v: %+v, want changed false, no event and a message with %q", tc.args, out, tc.message)
			}
			if n := walCount(t, dir); n != before {
				t.Errorf("%v wrote %d WAL commits for nothing", tc.args, n-before)
			}
			r := grite(t, dir, tc.args...)
			if r.code != 0 || !strings.Contains(r.stdout, "unchanged") || !strings.Contains(r.stdout, tc.message) {
				t.Errorf("human output: %s\nwant it to say unchanged: %s", r, tc.message)
			}
		})
	}

	// A real change still says so.
	var out write
	mustJSON(t, dir, &out, "issue", "reopen", x)
	if !out.Changed || out.EventID == "" {
		t.Errorf("reopen of a closed issue: %+v, want a change", out)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"link that is not a URL", []string{"issue", "link", "add", y, "--url", "not a url"}},
		{"link without a host", []string{"issue", "link", "add", y, "--url", "https://"}},
		{"label with a comma", []string{"issue", "label", "add", y, "--label", "a,b"}},
		{"created with a comma label", []string{"issue", "create", "--title", "t", "--label", "a,b"}},
		{"init --label when initialized", []string{"init", "--label", "bob", "--no-agents-md"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := walCount(t, dir)
			mustFail(t, dir, "invalid_args", 2, tc.args...)
			if n := walCount(t, dir); n != before {
				t.Errorf("%v wrote %d WAL commits", tc.args, n-before)
			}
		})
	}
	mustJSON(t, dir, nil, "issue", "link", "add", y, "--url", "https://example.com/1")

	// MCP goes through the same operations.
	srv := mustStartMCP(t, mcpOptions{dir: dir})
	defer srv.close(t)
	var w write
	srv.ok(t, "issue_update", map[string]any{"id": y, "state": "open"}, &w)
	if w.Changed || w.EventID != "" || !strings.Contains(w.Message, "already open") {
		t.Errorf("MCP issue_update to the current state: %+v", w)
	}
	w = write{Changed: true}
	srv.ok(t, "issue_dep", map[string]any{"id": x, "target": y, "type": "blocks", "action": "add"}, &w)
	if w.Changed || w.Action != "unchanged" {
		t.Errorf("MCP duplicate issue_dep add: %+v", w)
	}
	srv.fail(t, "issue_update", map[string]any{"id": y, "add_labels": []string{"a,b"}}, "invalid_args")
}

// init on a repository where an earlier command set grite up says what it
// found instead of a bare "already initialized".
func TestInitAfterAnotherCommandSaysWhatExists(t *testing.T) {
	t.Parallel()
	dir, actorID := newRepo(t)
	r := grite(t, dir, "init", "--no-agents-md")
	if r.code != 0 || !strings.Contains(r.stdout, "already initialized") || !strings.Contains(r.stdout, actorID) || !strings.Contains(r.stdout, "no actor created") {
		t.Errorf("second init: %s\nwant it to name the default actor and say nothing was created", r)
	}
}
