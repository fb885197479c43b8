package handoff_test

import (
	"strings"
	"testing"

	"grite/handoff"
)

func TestRoundTrip(t *testing.T) {
	cases := []handoff.Handoff{
		{Done: "parser", Next: "tests", Actor: "a1"},
		{Done: "x", Next: "y", Blocker: "needs review", Evidence: "go test ./... passes", Actor: "a1",
			Head: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Dirty: true},
		// Text that could end the HTML comment, or look like a second marker.
		{Done: "wrote --> and <!-- grite-handoff/1 {} -->", Next: "multi\nline\n\ntext", Actor: "a2"},
		{Done: "ünïcødé ✓", Next: "日本語", Actor: "a3"},
	}
	for _, h := range cases {
		body := handoff.Format(h)
		got, ok := handoff.Parse(body)
		if !ok || got != h {
			t.Errorf("Parse(Format(%+v)) = %+v, %v\nbody:\n%s", h, got, ok, body)
		}
		if !strings.Contains(body, "**Done:**") || !strings.Contains(body, "**Next:**") {
			t.Errorf("no readable fields in\n%s", body)
		}
	}
}

func TestParseIgnoresOrdinaryAndDamagedComments(t *testing.T) {
	for _, body := range []string{
		"",
		"just a comment",
		"**Handoff**\n\n**Done:** looks like one, is not",
		"<!-- grite-handoff/1 {\"done\":\"x\"",           // unterminated
		"<!-- grite-handoff/1 not json -->",              // not JSON
		"<!-- grite-handoff/1 {\"done\":1} -->",          // wrong type
		"<!-- grite-handoff/1 {\"done\":\"a\"} {} -->",   // two values
		"<!-- grite-handoff/2 {\"done\":\"future\"} -->", // another version
	} {
		if h, ok := handoff.Parse(body); ok {
			t.Errorf("Parse(%q) = %+v, want not a handoff", body, h)
		}
	}
}
