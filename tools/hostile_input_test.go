package tools_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"grite/internal/testrepo"
	"grite/tools"
)

// TestHostileInputIsInvalidArgsInEveryTextField calls every operation that
// stores text with invalid UTF-8 (what only the CLI can deliver: MCP
// arguments arrive JSON-decoded, with U+FFFD in place of such bytes) and
// with control characters where they are not allowed: each call is
// invalid_args, and neither the WAL nor the lock refs change. A lock
// resource goes into a commit message (a NUL there makes remotes that fsck
// pushes refuse the whole push), and a remote starting with '-' would be
// taken by git for an option such as --upload-pack=<command>.
func TestHostileInputIsInvalidArgsInEveryTextField(t *testing.T) {
	ctx := context.Background()
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: testrepo.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	created, err := tools.IssueCreate.Call(ctx, s, tools.IssueCreateInput{Title: "target"})
	if err != nil {
		t.Fatal(err)
	}
	id := created.IssueID
	head, err := s.WAL.Head()
	if err != nil {
		t.Fatal(err)
	}
	const bad = "bad \xff\xfe"
	ptr := func(v string) *string { return &v }
	link := func(in tools.IssueLinkInput) func() error {
		in.ID = id
		return func() error { _, err := tools.IssueLinkAdd.Call(ctx, s, in); return err }
	}
	attach := func(in tools.IssueAttachInput) func() error {
		in.ID, in.SHA256 = id, strings.Repeat("ab", 32)
		return func() error { _, err := tools.IssueAttachmentAdd.Call(ctx, s, in); return err }
	}
	create := func(in tools.IssueCreateInput) func() error {
		return func() error { _, err := tools.IssueCreate.Call(ctx, s, in); return err }
	}
	update := func(in tools.IssueUpdateInput) func() error {
		in.ID = id
		return func() error { _, err := tools.IssueUpdate.Call(ctx, s, in); return err }
	}
	lockOn := func(resource string) func() error {
		return func() error {
			_, err := tools.Lock.Call(ctx, s, tools.LockInput{Action: "acquire", Resource: resource})
			return err
		}
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"create title", create(tools.IssueCreateInput{Title: bad})},
		{"create title with NUL", create(tools.IssueCreateInput{Title: "a\x00b"})},
		{"create title with newline", create(tools.IssueCreateInput{Title: "a\nb"})},
		{"create body", create(tools.IssueCreateInput{Title: "t", Body: bad})},
		{"create label", create(tools.IssueCreateInput{Title: "t", Labels: []string{bad}})},
		{"create label with NUL", create(tools.IssueCreateInput{Title: "t", Labels: []string{"a\x00"}})},
		{"create assignee", create(tools.IssueCreateInput{Title: "t", Assignees: []string{bad}})},
		{"update title", update(tools.IssueUpdateInput{Title: ptr(bad)})},
		{"update title with ESC", update(tools.IssueUpdateInput{Title: ptr("a\x1b[2J")})},
		{"update body", update(tools.IssueUpdateInput{Body: ptr(bad)})},
		{"update added label", update(tools.IssueUpdateInput{AddLabels: []string{bad}})},
		{"update removed label", update(tools.IssueUpdateInput{RemoveLabels: []string{bad}})},
		{"update added assignee", update(tools.IssueUpdateInput{AddAssignees: []string{bad}})},
		{"update removed assignee", update(tools.IssueUpdateInput{RemoveAssignees: []string{bad}})},
		{"comment", func() error {
			_, err := tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: id, Body: bad})
			return err
		}},
		{"label added", update(tools.IssueUpdateInput{AddLabels: []string{bad}})},
		{"label removed", update(tools.IssueUpdateInput{RemoveLabels: []string{bad}})},
		{"assignee added", update(tools.IssueUpdateInput{AddAssignees: []string{bad}})},
		{"assignee removed", update(tools.IssueUpdateInput{RemoveAssignees: []string{bad}})},
		{"link url", link(tools.IssueLinkInput{URL: "https://example.com/" + bad})},
		{"link note", link(tools.IssueLinkInput{URL: "https://example.com/", Note: ptr(bad)})},
		{"attachment name", attach(tools.IssueAttachInput{Name: bad, MIME: "text/plain"})},
		{"attachment mime", attach(tools.IssueAttachInput{Name: "f.txt", MIME: bad})},
		{"lock resource", lockOn("path:" + bad)},
		{"lock resource with NUL", lockOn("path:a\x00b")},
		{"lock resource with newline", lockOn("issue:a\nb")},
		{"sync remote that git takes for an option", func() error {
			_, err := tools.Sync.Call(ctx, s, tools.SyncInput{Mode: "pull", Remote: "--upload-pack=touch /tmp/x"})
			return err
		}},
		{"actor label", func() error {
			_, err := tools.ActorInit.Call(ctx, s, tools.ActorInitInput{Label: bad})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var te *tools.Error
			if !errors.As(err, &te) || te.Code != tools.CodeInvalidArgs {
				t.Fatalf("got %v, want invalid_args", err)
			}
		})
	}
	if got, _ := s.WAL.Head(); got != head {
		t.Fatalf("WAL moved from %s to %s", head, got)
	}
	if refs, err := s.Repo.ListRefs("refs/grite/locks/"); err != nil || len(refs) != 0 {
		t.Fatalf("lock refs %v (%v), want none", refs, err)
	}
}
