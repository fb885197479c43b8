package tools_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/tools"
	"grite/wal"
)

// The interop fixture (testdata/interop, copied verbatim; see its README) is
// a WAL written by an independent implementation of docs/format.md, with
// the projection its verifier expects.
const interopDir = "testdata/interop"

type interopExpected struct {
	OK         bool            `json:"ok"`
	Violations json.RawMessage `json:"violations"`
	Issues     []interopIssue  `json:"issues"`
}

type interopIssue struct {
	IssueID   string   `json:"issue_id"`
	Title     string   `json:"title"`
	Body      string   `json:"body"`
	State     string   `json:"state"`
	Labels    []string `json:"labels"`
	Assignees []string `json:"assignees"`
	Comments  []struct {
		EventID string `json:"event_id"`
		Actor   string `json:"actor"`
		Body    string `json:"body"`
		TS      uint64 `json:"ts"`
	} `json:"comments"`
	Deps []struct {
		Target  string `json:"target"`
		DepType string `json:"dep_type"`
	} `json:"deps"`
	Links []struct {
		EventID string  `json:"event_id"`
		URL     string  `json:"url"`
		Note    *string `json:"note"`
	} `json:"links"`
	Attachments []struct {
		EventID string `json:"event_id"`
		Name    string `json:"name"`
		SHA256  string `json:"sha256"`
		MIME    string `json:"mime"`
	} `json:"attachments"`
	CreatedTS    uint64 `json:"created_ts"`
	UpdatedTS    uint64 `json:"updated_ts"`
	CommentCount int    `json:"comment_count"`
	EventCount   int    `json:"event_count"`
}

// loadInterop makes a repository holding the fixture's WAL and its three
// actors' configs, and returns its working tree and the expected projection.
func loadInterop(t *testing.T) (string, interopExpected) {
	t.Helper()
	var want interopExpected
	b, err := os.ReadFile(filepath.Join(interopDir, "original-format.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !want.OK || strings.TrimSpace(string(want.Violations)) != "[]" || len(want.Issues) == 0 {
		t.Fatalf("fixture is not a clean expectation: ok=%v violations=%s issues=%d", want.OK, want.Violations, len(want.Issues))
	}
	bundle, err := filepath.Abs(filepath.Join(interopDir, "original-format.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	dir := testrepo.New(t)
	testrepo.Git(t, dir, "fetch", "-q", bundle, wal.Ref+":"+wal.Ref)
	tomls, err := filepath.Glob(filepath.Join(interopDir, "actors", "*.toml"))
	if err != nil || len(tomls) != 3 {
		t.Fatalf("actor configs: %v %v", tomls, err)
	}
	gitDir := testrepo.Git(t, dir, "rev-parse", "--absolute-git-dir")
	for _, p := range tomls {
		id := strings.TrimSuffix(filepath.Base(p), ".toml")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(gitDir, "grite", "actors", id, "config.toml")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, want
}

func TestInteropFixtureProjectsAsExpected(t *testing.T) {
	ctx := context.Background()
	dir, want := loadInterop(t)
	// No default actor is configured: selection creates a fresh local one,
	// which is not one of the fixture's authors.
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: dir, Selection: actor.Selection{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ActorSource != actor.SourceAuto {
		t.Fatalf("actor source %s, want auto", s.ActorSource)
	}
	if w := s.TakeWarnings(); len(w) > 0 {
		t.Fatalf("warnings opening the fixture: %v", w)
	}

	list, err := tools.IssueList.Call(ctx, s, tools.IssueListInput{})
	if err != nil {
		t.Fatal(err)
	}
	var listed, expected []string
	for _, is := range list.Issues {
		listed = append(listed, is.IssueID)
	}
	for _, is := range want.Issues {
		expected = append(expected, is.IssueID)
	}
	sort.Strings(listed)
	if !reflect.DeepEqual(listed, expected) || list.Total != len(want.Issues) {
		t.Fatalf("issue list (total %d):\n%v\nwant (%d):\n%v", list.Total, listed, len(want.Issues), expected)
	}
	byID := map[string]tools.IssueSummary{}
	for _, is := range list.Issues {
		byID[is.IssueID] = is
	}

	for _, w := range want.Issues {
		t.Run(w.IssueID, func(t *testing.T) {
			out, err := tools.IssueShow.Call(ctx, s, tools.IssueShowInput{ID: w.IssueID})
			if err != nil {
				t.Fatal(err)
			}
			got := projectShow(out.Issue)
			if !reflect.DeepEqual(got, w) {
				gj, _ := json.MarshalIndent(got, "", "  ")
				wj, _ := json.MarshalIndent(w, "", "  ")
				t.Errorf("issue show differs\ngot:  %s\nwant: %s", gj, wj)
			}
			if len(out.Events) != w.EventCount {
				t.Errorf("show lists %d events, want %d", len(out.Events), w.EventCount)
			}
			sum := byID[w.IssueID]
			gotSum := tools.IssueSummary{IssueID: w.IssueID, Title: w.Title, State: w.State, Labels: w.Labels, Assignees: w.Assignees,
				CreatedTS: w.CreatedTS, UpdatedTS: w.UpdatedTS, CommentCount: w.CommentCount}
			if !reflect.DeepEqual(sum, gotSum) {
				t.Errorf("issue list row\ngot:  %+v\nwant: %+v", sum, gotSum)
			}
		})
	}
}

// projectShow maps issue show's detail onto the verifier's shape.
func projectShow(d tools.IssueDetail) interopIssue {
	var g interopIssue
	b, _ := json.Marshal(struct {
		IssueID     string   `json:"issue_id"`
		Title       string   `json:"title"`
		Body        string   `json:"body"`
		State       string   `json:"state"`
		Labels      []string `json:"labels"`
		Assignees   []string `json:"assignees"`
		Comments    []any    `json:"comments"`
		Deps        any      `json:"deps"`
		Links       any      `json:"links"`
		Attachments any      `json:"attachments"`
		Created     uint64   `json:"created_ts"`
		Updated     uint64   `json:"updated_ts"`
		NComments   int      `json:"comment_count"`
		NEvents     int      `json:"event_count"`
	}{
		d.IssueID, d.Title, d.Body, d.State, d.Labels, d.Assignees, commentsAsVerifier(d.Comments),
		d.Deps, d.Links, d.Attachments, d.CreatedTS, d.UpdatedTS, d.CommentCount, d.EventCount,
	})
	if err := json.Unmarshal(b, &g); err != nil {
		panic(err)
	}
	return g
}

func commentsAsVerifier(cs []tools.CommentJSON) []any {
	out := []any{}
	for _, c := range cs {
		out = append(out, map[string]any{"event_id": c.EventID, "actor": c.Actor, "body": c.Body, "ts": c.TS})
	}
	return out
}

func TestInteropFixtureSignaturesVerify(t *testing.T) {
	ctx := context.Background()
	dir, _ := loadInterop(t)
	repo, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := actor.Dir(repo.GriteDir()).PublicKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("%d public keys from the fixture's actor configs, want 3", len(keys))
	}
	w := wal.Open(repo)
	head, err := w.Head()
	if err != nil {
		t.Fatal(err)
	}
	var unknown []event.ActorID
	commits, err := w.ReadSince(ctx, head, plumbing.ZeroHash, wal.ReadOptions{Strict: true, PublicKey: func(a event.ActorID) ed25519.PublicKey {
		k := keys[a]
		if k == nil {
			unknown = append(unknown, a)
		}
		return k
	}})
	if err != nil {
		t.Fatalf("strict read: %v", err)
	}
	if len(unknown) > 0 {
		t.Fatalf("events by actors without a fixture config: %v", unknown)
	}
	events := wal.Events(commits)
	if len(commits) != 73 || len(events) != 150 {
		t.Fatalf("%d commits, %d events; the fixture README says 73 and 150", len(commits), len(events))
	}
	for i := range events {
		e := &events[i]
		if len(e.Sig) != ed25519.SignatureSize {
			t.Errorf("event %s carries a %d-byte signature", e.ID, len(e.Sig))
			continue
		}
		// Strict read already verified; check again here so the test does not
		// depend on how wal applies PublicKey.
		if err := e.VerifySignature(keys[e.Actor]); err != nil {
			t.Errorf("event %s: %v", e.ID, err)
		}
		if err := e.VerifyID(); err != nil {
			t.Errorf("event %s: %v", e.ID, err)
		}
	}
}
