package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"grite/internal/testrepo"
	"grite/tools"
)

// FuzzToolArguments calls every tool's Definition.Call with arbitrary bytes
// as its JSON arguments against one real session on a temporary repository
// (reused by every input, so an input costs one call). A call must not
// panic; it fails only with a *tools.Error carrying a known code, and
// internal_error only where this harness forces it (sync, below); it
// succeeds only with a result that renders as a JSON object with a text; and
// no input changes the repository the session acts on.
//
// The tool is chosen by name (an unknown name picks one by its length).
// sync runs with a canceled context: its arguments are decoded and
// validated as always, but git is never started, so no input can fetch
// from or push to a real repository on this machine (a remote may be a
// path: ".." from the package directory is this project's own clone).
// The seeds in testdata/fuzz/FuzzToolArguments give each tool valid and
// hostile arguments; @ISSUE@ in them stands for an existing issue's ID.
func FuzzToolArguments(f *testing.F) {
	ctx := context.Background()
	dir := testrepo.New(f)
	now := time.UnixMilli(1_750_000_000_000)
	sess, err := tools.Open(ctx, tools.OpenOptions{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sess.Close() })
	// Issue IDs are random: seeds write @ISSUE@ where they mean this one.
	seed, err := tools.IssueCreate.Call(ctx, sess, tools.IssueCreateInput{Title: "seed issue", Labels: []string{"bug"}})
	if err != nil {
		f.Fatal(err)
	}
	placeholder, issueID := []byte("@ISSUE@"), []byte(seed.IssueID)
	repo := sess.RepoPath()
	defs := Definitions()
	byName := map[string]Definition{}
	for _, d := range defs {
		byName[d.Tool.Name] = d
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	known := map[tools.Code]bool{
		tools.CodeInvalidArgs: true, tools.CodeNotFound: true, tools.CodeConflict: true,
		tools.CodeNotARepo: true, tools.CodeDBBusy: true, tools.CodeIO: true,
		tools.CodeGit: true, tools.CodeWAL: true, tools.CodeInternal: true,
	}

	f.Fuzz(func(t *testing.T, name string, args []byte) {
		d, ok := byName[name]
		if !ok {
			d = defs[len(name)%len(defs)]
		}
		callCtx := ctx
		if d.Tool.Name == "sync" {
			callCtx = canceled
		}
		args = bytes.ReplaceAll(args, placeholder, issueID)
		data, text, err := d.Call(callCtx, sess, json.RawMessage(args))
		if err != nil {
			te, ok := err.(*tools.Error)
			if !ok {
				t.Fatalf("%s(%q) failed with %T %v, want a *tools.Error", d.Tool.Name, args, err, err)
			}
			if !known[te.Code] || te.Message == "" {
				t.Fatalf("%s(%q): error %+v has an unknown code or no message", d.Tool.Name, args, te)
			}
			if te.Code == tools.CodeInternal && d.Tool.Name != "sync" {
				t.Fatalf("%s(%q): internal_error %q (a bug, not a user error)", d.Tool.Name, args, te.Message)
			}
		} else {
			obj, err := toObject(data)
			if err != nil || obj == nil {
				t.Fatalf("%s(%q): result %#v does not render as a JSON object: %v", d.Tool.Name, args, data, err)
			}
			if strings.TrimSpace(text) == "" {
				t.Fatalf("%s(%q): success without text", d.Tool.Name, args)
			}
		}
		if got := sess.RepoPath(); got != repo {
			t.Fatalf("%s(%q) moved the session from %s to %s", d.Tool.Name, args, repo, got)
		}
	})
}
