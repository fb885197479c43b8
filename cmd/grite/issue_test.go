package main

import (
	"bytes"
	"strings"
	"testing"

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

// printList aligns titles on the longest one (in runes) and leaves no
// trailing spaces on lines without labels.
func TestPrintListAligns(t *testing.T) {
	out := tools.IssueListOutput{Total: 3, Issues: []tools.IssueSummary{
		{IssueID: "aaaaaaaa11111111", State: "open", Title: "short", Labels: []string{"bug"}},
		{IssueID: "bbbbbbbb22222222", State: "closed", Title: "a longer tïtle"},
		{IssueID: "cccccccc33333333", State: "open", Title: "mid", Labels: []string{"p0", "ui"}},
	}}
	var b bytes.Buffer
	printList(&b, out)
	want := "aaaaaaaa  open    short           [bug]\n" +
		"bbbbbbbb  closed  a longer tïtle\n" +
		"cccccccc  open    mid             [p0,ui]\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printList(&b, tools.IssueListOutput{Total: 5, Issues: out.Issues[:1]})
	if !strings.HasSuffix(b.String(), "(1 of 5 shown)\n") {
		t.Fatalf("no paging note: %q", b.String())
	}
}
