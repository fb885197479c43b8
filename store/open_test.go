package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"grite/store"
)

// Several processes of one actor can start at once on a view that does not
// exist yet (docs/cli.md decision 10): each must open it, none may fail with
// db_busy. Setting WAL mode on a new file is where SQLite refuses a second
// connection at once, without waiting, so each round races on a new path.
func TestConcurrentOpensOfANewView(t *testing.T) {
	ctx := context.Background()
	const rounds, opens = 20, 6
	for round := range rounds {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("view-%d.db", round))
		var wg sync.WaitGroup
		errs := make(chan error, opens)
		for range opens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := store.Open(ctx, path)
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.Meta(ctx, "schema"); err != nil {
					errs <- err
				}
				s.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

// A command's view reads memory-mapped; a long-lived session's does not
// (see OpenLongLived), on every connection of its pool, and both read the
// same file.
func TestLongLivedViewIsNotMapped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "view.db")
	for _, tc := range []struct {
		name string
		open func(context.Context, string) (*store.Store, error)
		want int64
	}{
		{"command", store.Open, 1 << 30},
		{"long-lived", store.OpenLongLived, 0},
	} {
		s, err := tc.open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		// Hold several connections at once, so the pool opens more than one.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				n, err := store.MmapSize(ctx, s)
				if err != nil {
					t.Error(err)
				} else if n != tc.want {
					t.Errorf("%s view: mmap_size %d, want %d", tc.name, n, tc.want)
				}
			})
		}
		wg.Wait()
		if v, err := s.Meta(ctx, "schema"); err != nil || v == "" {
			t.Fatalf("%s view: schema %q, %v", tc.name, v, err)
		}
		s.Close()
	}
}
