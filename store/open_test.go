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
