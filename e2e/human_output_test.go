package e2e

import (
	"regexp"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// The Markdown export is read by people: times are dates, not the
// milliseconds the JSON keeps.
func TestMarkdownExportWritesDates(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "Dated")
	mustJSON(t, dir, nil, "issue", "comment", id, "--body", "first")
	r := grite(t, dir, "export", "--format", "md")
	if r.code != 0 {
		t.Fatalf("export failed\n%s", r)
	}
	date := `\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC`
	for _, want := range []string{`(?m)^- Updated: ` + date + `$`, `(?m)^### Comment by [0-9a-f]{8} at ` + date + `$`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("export does not match %s\n%s", want, r)
		}
	}
	if ms := regexp.MustCompile(`\b\d{13}\b`).FindString(r.stdout); ms != "" {
		t.Errorf("export writes milliseconds %s\n%s", ms, r)
	}
}

// One of a thing is singular in human output: "1 event", not "1 events".
func TestHumanOutputCountsOneAsOne(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "Only")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"issue", "show", id}, "\n1 event\n"},
		{[]string{"doctor"}, "1 commit, 1 event, hashes verified"},
		{[]string{"doctor"}, ", 1 issue, 1 event"},
		{[]string{"snapshot", "create"}, "(1 event)"},
		{[]string{"rebuild"}, "rebuilt view: 1 event\n"},
	} {
		r := grite(t, dir, c.args...)
		if r.code != 0 || !strings.Contains(r.stdout, c.want) {
			t.Errorf("want %q\n%s", c.want, r)
		}
	}
}

// Colour is for a person at a terminal: piped output, as here, and output
// under NO_COLOR carry no escape codes, while the listing still has its
// header.
func TestListingsInAPipeHaveNoEscapeCodes(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "open one")
	mustJSON(t, dir, nil, "issue", "close", create(t, dir, "closed one"))
	for _, env := range [][]string{nil, {"NO_COLOR=1"}, {"TERM=xterm-256color"}} {
		for _, args := range [][]string{{"issue", "list"}, {"issue", "ready"}, {"issue", "dep", "topo"}, {"issue", "list", "-q"}} {
			out, errOut, code := testrepo.RunGriteEnv(t, dir, env, args...)
			if code != 0 || strings.Contains(out, "\x1b") || !strings.Contains(out, id[:8]) {
				t.Errorf("%v %v: exit %d, stdout %q, stderr %q", env, args, code, out, errOut)
			}
		}
	}
}
