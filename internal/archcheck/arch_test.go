package archcheck

import (
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestPurePackagesHaveNoIO(t *testing.T) {
	forbidden := []string{"github.com/go-git/", "github.com/mattn/go-sqlite3", "github.com/mark3labs/mcp-go", "grite/wal", "grite/store", "grite/gitdir", "os/exec", "database/sql"}
	// codeindex is pure too, but for tree-sitter (C, through cgo).
	for _, pkg := range []string{"grite/event", "grite/crdt", "grite/foreign", "grite/codeindex"} {
		for _, d := range deps(t, pkg) {
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}

func TestEdgesReachStorageOnlyThroughTools(t *testing.T) {
	for _, pkg := range []string{"grite/cmd/grite", "grite/cmd/grite-mcp", "grite/mcp", "grite/board"} {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			switch imp {
			case "grite/store", "grite/wal", "grite/gitdir", "grite/gitsync", "grite/lock", "grite/feed":
				t.Errorf("%s imports %s directly; go through tools/", pkg, imp)
			}
		}
	}
}

func TestOnlyStorageLayersTouchGitAndSQLite(t *testing.T) {
	git := map[string]bool{"grite/gitdir": true, "grite/wal": true, "grite/gitsync": true, "grite/lock": true, "grite/tools": true}
	for _, pkg := range []string{"grite/store", "grite/actor", "grite/prompts"} {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			if strings.HasPrefix(imp, "github.com/go-git/") && !git[pkg] {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}
