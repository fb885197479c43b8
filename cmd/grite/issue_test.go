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
	printList(&b, out, false)
	want := "ID        STATE   TITLE             LABELS  ASSIGNEES  UPDATED\n" +
		"aaaaaaaa  open    short             bug                just now\n" +
		"bbbbbbbb  closed  a longer tïtle                       3h ago\n" +
		"cccccccc  open    日本語のタイトル  p0,ui   alice      2d ago\n" +
		"dddddddd  open    party 🎉                  bob,carol  5m ago\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printList(&b, tools.IssueListOutput{Total: 5, Issues: out.Issues[:1]}, false)
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

// Colour only for a person at a terminal who has not set NO_COLOR
// (https://no-color.org: set to anything but empty) nor TERM=dumb.
func TestWantColour(t *testing.T) {
	for _, c := range []struct {
		terminal bool
		env      map[string]string
		want     bool
	}{
		{true, nil, true},
		{true, map[string]string{"NO_COLOR": "1"}, false},
		{true, map[string]string{"NO_COLOR": ""}, true},
		{true, map[string]string{"TERM": "dumb"}, false},
		{false, nil, false},
		{false, map[string]string{"TERM": "xterm-256color"}, false},
	} {
		if got := wantColour(c.terminal, func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("terminal %v env %v: colour %v, want %v", c.terminal, c.env, got, c.want)
		}
	}
}

// With colour the state alone is marked, and the columns line up exactly as
// without it; without colour there is no escape code at all.
func TestPrintListColoursTheStateOnly(t *testing.T) {
	now := uint64(time.Now().UnixMilli())
	out := tools.IssueListOutput{Total: 2, Issues: []tools.IssueSummary{
		{IssueID: "aaaaaaaa11111111", State: "open", Title: "日本語", Labels: []string{"bug"}, UpdatedTS: now},
		{IssueID: "bbbbbbbb22222222", State: "closed", Title: "done", Assignees: []string{"bob"}, UpdatedTS: now},
	}}
	var plain, coloured bytes.Buffer
	printList(&plain, out, false)
	printList(&coloured, out, true)
	if strings.Contains(plain.String(), "\x1b") {
		t.Fatalf("escape codes without colour: %q", plain.String())
	}
	for _, want := range []string{"  \x1b[32mopen\x1b[0m    ", "  \x1b[2mclosed\x1b[0m  "} {
		if !strings.Contains(coloured.String(), want) {
			t.Errorf("coloured listing has no %q:\n%q", want, coloured.String())
		}
	}
	stripped := strings.NewReplacer("\x1b[32m", "", "\x1b[2m", "", "\x1b[0m", "").Replace(coloured.String())
	if stripped != plain.String() {
		t.Errorf("colour moved the columns:\n%s\nwant\n%s", stripped, plain.String())
	}
}
