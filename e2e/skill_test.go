package e2e

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"grite/internal/testrepo"
)

type skillOutput struct {
	Path   string `json:"path"`
	Action string `json:"action"`
}

// install-skill writes the skill where agent harnesses read it, from any
// directory of the working tree; a second run refuses without --force and
// leaves the file as it was; --force updates it; --global writes under
// HOME; a bare repository has no working tree to write to.
func TestInstallSkill(t *testing.T) {
	dir, _ := newRepo(t)
	sub := filepath.Join(dir, "src", "deep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, ".claude", "skills", "grite", "SKILL.md")
	var out skillOutput
	mustJSON(t, sub, &out, "install-skill")
	if out.Action != "created" || out.Path != want {
		t.Fatalf("first install: %+v, want created at %s", out, want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	// The front matter a harness reads the skill by, and the workflow of
	// both the CLI and the MCP tools.
	for _, s := range []string{"---\nname: grite\ndescription: ", "grite issue claim", "issue_claim", "grite prime", "whoami", "grite issue handoff"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("skill lacks %q", s)
		}
	}

	if err := os.WriteFile(want, []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := mustFail(t, dir, "conflict", 4, "install-skill")
	if !strings.Contains(e.Message, want) || !strings.Contains(strings.Join(suggestions(e), " "), "--force") {
		t.Fatalf("refusal: %+v", e)
	}
	if b, _ := os.ReadFile(want); string(b) != "edited by hand\n" {
		t.Fatalf("the refused install changed the file: %q", b)
	}
	mustJSON(t, dir, &out, "install-skill", "--force")
	if b2, _ := os.ReadFile(want); out.Action != "updated" || string(b2) != string(b) {
		t.Fatalf("--force: %+v, file %q", out, b2)
	}

	home := t.TempDir()
	stdout, stderr, code := testrepo.RunGriteEnv(t, dir, []string{"HOME=" + home}, "install-skill", "--global", "--json")
	if code != 0 {
		t.Fatalf("--global: exit %d\n%s%s", code, stdout, stderr)
	}
	var env struct {
		Data skillOutput `json:"data"`
	}
	if err := json.Unmarshal([]byte(stdout), &env); err != nil {
		t.Fatal(err)
	}
	if gw := filepath.Join(home, ".claude", "skills", "grite", "SKILL.md"); env.Data.Path != gw {
		t.Fatalf("--global wrote %s, want %s", env.Data.Path, gw)
	}
	if _, err := os.Stat(env.Data.Path); err != nil {
		t.Fatal(err)
	}

	bare := t.TempDir()
	testrepo.Git(t, bare, "init", "-q", "--bare")
	mustFail(t, bare, "invalid_args", 2, "install-skill")
}

func suggestions(e errorObject) []string {
	var out []string
	if l, ok := e.Details["suggestions"].([]any); ok {
		for _, s := range l {
			out = append(out, s.(string))
		}
	}
	return out
}

type dbCheckOutput struct {
	EventsChecked int `json:"events_checked"`
	EventsValid   int `json:"events_valid"`
	CorruptCount  int `json:"corrupt_count"`
	Errors        []struct {
		EventID string `json:"event_id"`
		IssueID string `json:"issue_id"`
		Error   string `json:"error"`
	} `json:"errors"`
}

// db check exits 1 with its report when an event of the view no longer
// hashes to its ID; db verify reports and exits 0 (signing is optional).
func TestDBCheckAndVerifyCLI(t *testing.T) {
	dir, _ := newRepo(t)
	id := create(t, dir, "a title to damage")
	var out dbCheckOutput
	mustJSON(t, dir, &out, "db", "check", "--verify-parents")
	if out.EventsChecked != 1 || out.CorruptCount != 0 || out.Errors == nil {
		t.Fatalf("healthy: %+v", out)
	}
	var stats struct {
		Path string `json:"path"`
	}
	mustJSON(t, dir, &stats, "db", "stats")
	db, err := sql.Open("sqlite3", stats.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET record = CAST(replace(CAST(record AS TEXT), 'damage', 'dAmage') AS BLOB)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	env, r := gjson(t, dir, "db", "check")
	if !env.OK || r.code != 1 {
		t.Fatalf("want the report and exit 1\n%s", r)
	}
	if err := json.Unmarshal(env.Data, &out); err != nil || out.CorruptCount != 1 || out.Errors[0].IssueID != id || !strings.HasPrefix(out.Errors[0].Error, "hash mismatch") {
		t.Fatalf("report: %+v %v", out, err)
	}
	var verify struct {
		EventsChecked int `json:"events_checked"`
		Unsigned      int `json:"unsigned"`
		ErrorCount    int `json:"error_count"`
	}
	mustJSON(t, dir, &verify, "db", "verify")
	if verify.EventsChecked != 1 || verify.Unsigned != 1 || verify.ErrorCount != 1 {
		t.Fatalf("verify: %+v", verify)
	}
}
