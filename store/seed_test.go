package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"grite/event"
	"grite/store"
)

// filledView is a view at path with n issues and wal_head set to head.
func filledView(t *testing.T, path string, n int, head string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var evs []event.Event
	for i := range n {
		evs = append(evs, sealed(t, event.Event{IssueID: event.IssueID{1, byte(i)}, Actor: event.ActorID{1}, TS: uint64(10 + i),
			Kind: event.IssueCreated{Title: fmt.Sprintf("issue %d", i)}}))
	}
	if err := s.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Apply(evs); err != nil {
			return err
		}
		return tx.SetMeta("wal_head", head)
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	const head = "1111111111111111111111111111111111111111"
	dir := t.TempDir()
	src := filepath.Join(dir, "a", "view.db")
	filledView(t, src, 20, head) // left open, as a running session would

	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite3", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES('schema', '1')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("not a database, not even close to one, and long enough to look"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		src     string
		wantErr bool // and no view at dst
	}{
		{"a view of this schema", src, false},
		{"a view of another schema", foreign, true},
		{"not a database", garbage, true},
		{"no file", filepath.Join(dir, "missing.db"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "view.db")
			err := store.Seed(ctx, dst, tc.src)
			if tc.wantErr {
				if err == nil {
					t.Fatal("seeded from it")
				}
				if _, serr := os.Stat(dst); !errors.Is(serr, os.ErrNotExist) {
					t.Fatalf("a failed seed left %s (%v)", dst, serr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Recreated {
				t.Fatal("the seeded view was recreated empty")
			}
			if got, _ := s.Meta(ctx, "wal_head"); got != head {
				t.Fatalf("wal_head %q, want %q", got, head)
			}
			if _, total, err := s.ListIssues(ctx, store.Filter{}); err != nil || total != 20 {
				t.Fatalf("%d issues (%v), want 20", total, err)
			}
			entries, _ := os.ReadDir(filepath.Dir(dst))
			for _, e := range entries {
				if e.Name() != "view.db" && e.Name() != "view.db-wal" && e.Name() != "view.db-shm" {
					t.Errorf("seeding left %s behind", e.Name())
				}
			}
		})
	}
}

// A view that exists when the copy is ready (another process of the new
// actor made it meanwhile) is kept: Seed never replaces a view.
func TestSeedKeepsAnExistingView(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "a", "view.db")
	filledView(t, src, 3, "1111111111111111111111111111111111111111")
	dst := filepath.Join(dir, "b", "view.db")
	filledView(t, dst, 1, "2222222222222222222222222222222222222222").Close()
	if err := store.Seed(ctx, dst, src); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := s.Meta(ctx, "wal_head"); got != "2222222222222222222222222222222222222222" {
		t.Fatalf("wal_head %q: the existing view was replaced", got)
	}
}
