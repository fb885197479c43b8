package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"grite/tools"
)

func TestOneLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain title", "plain title"},
		{"  padded  ", "padded"},
		{"two\nlines\tand  gaps", "two lines and gaps"},
		{"non\u00a0breaking", "non breaking"},
		{"ünïcode stays", "ünïcode stays"},
		{strings.Repeat("x", 80), strings.Repeat("x", 71) + "…"},
		{strings.Repeat("é", 80), strings.Repeat("é", 71) + "…"},
		{"", ""},
	}
	for _, c := range cases {
		if got := oneLine(c.in, 72); got != c.want {
			t.Errorf("oneLine(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// printList puts a header over the columns, aligns each on its widest cell
// by display width (a CJK character or an emoji takes two columns, so such
// titles do not shift what follows), says when each issue changed
// relative to now, and leaves no trailing spaces.
func TestPrintListAligns(t *testing.T) {
	now := uint64(time.Now().UnixMilli())
	out := tools.IssueListOutput{Total: 4, Issues: []tools.IssueSummary{
		{IssueID: "aaaaaaaa11111111", State: "open", Title: "short", Labels: []string{"bug"}, UpdatedTS: now},
		{IssueID: "bbbbbbbb22222222", State: "closed", Title: "a longer tïtle", UpdatedTS: now - 3*3600*1000 - 5000},
		{IssueID: "cccccccc33333333", State: "open", Title: "日本語のタイトル", Labels: []string{"p0", "ui"}, Assignees: []string{"alice"}, UpdatedTS: now - 2*86400*1000 - 5000},
		{IssueID: "dddddddd44444444", State: "open", Title: "party 🎉", Assignees: []string{"bob", "carol"}, UpdatedTS: now - 5*60*1000 - 5000},
	}}
	var b bytes.Buffer
	printList(&b, out)
	want := "ID        STATE   TITLE             LABELS  ASSIGNEES  UPDATED\n" +
		"aaaaaaaa  open    short             bug                just now\n" +
		"bbbbbbbb  closed  a longer tïtle                       3h ago\n" +
		"cccccccc  open    日本語のタイトル  p0,ui   alice      2d ago\n" +
		"dddddddd  open    party 🎉                  bob,carol  5m ago\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printList(&b, tools.IssueListOutput{Total: 5, Issues: out.Issues[:1]})
	if !strings.HasSuffix(b.String(), "(1 of 5 shown)\n") {
		t.Fatalf("no paging note: %q", b.String())
	}
}

// Human output counts and names things as English does: "1 event", not
// "1 events"; "an assignee", not "a assignee".
func TestHumanOutputGrammar(t *testing.T) {
	show := func(events int) string {
		var b bytes.Buffer
		printShow(&b, tools.IssueShowOutput{
			Issue:  tools.IssueDetail{IssueSummary: tools.IssueSummary{IssueID: "aaaaaaaa11111111", State: "open", Title: "t"}, CreatedBy: "bbbbbbbb22222222"},
			Events: make([]tools.EventJSON, events),
		})
		return b.String()
	}
	for _, c := range []struct{ got, want string }{
		{show(0), "\n0 events\n"},
		{show(1), "\n1 event\n"},
		{show(2), "\n2 events\n"},
		{issueSetCmd(nil, "assignee", "assignee", nil, nil).Short, "Add or remove an assignee"},
		{issueSetCmd(nil, "label", "label", nil, nil).Short, "Add or remove a label"},
	} {
		if !strings.HasSuffix(c.got, c.want) {
			t.Errorf("%q does not end in %q", c.got, c.want)
		}
	}
}
