package filelock_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"grite/internal/filelock"
)

// Holders of one lock take turns: each writes "in" and "out" to a log
// while it holds the lock (each call opens the lock file anew, as
// separate processes do), so the log alternates strictly. The lock
// file's directory is made on first use.
func TestHoldersTakeTurns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "made", "on", "demand.lock")
	logPath := filepath.Join(dir, "log")
	const holders, rounds = 8, 25
	var wg sync.WaitGroup
	for range holders {
		wg.Go(func() {
			for range rounds {
				err := filelock.With(path, func() error {
					f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
					if err != nil {
						return err
					}
					defer f.Close()
					if _, err := f.WriteString("in\n"); err != nil {
						return err
					}
					_, err = f.WriteString("out\n")
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2*holders*rounds {
		t.Fatalf("%d log lines, want %d", len(lines), 2*holders*rounds)
	}
	for i, l := range lines {
		if want := []string{"in", "out"}[i%2]; l != want {
			t.Fatalf("log line %d is %q, want %q: two holders overlapped", i, l, want)
		}
	}
}

// TryWith fails at once while a shared holder has the lock (flock locks
// of separate opens conflict even within one process, as between
// processes), and succeeds once every holder has let go.
func TestTryWithWaitsForNoSharedHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in-use.lock")
	release1, err := filelock.Shared(path)
	if err != nil {
		t.Fatal(err)
	}
	release2, err := filelock.Shared(path) // shared holders coexist
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	try := func() bool {
		t.Helper()
		ok, err := filelock.TryWith(path, func() error { ran = true; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if try() || ran {
		t.Fatal("TryWith ran while two shared holders held the lock")
	}
	release1()
	if try() || ran {
		t.Fatal("TryWith ran while a shared holder held the lock")
	}
	release2()
	if !try() || !ran {
		t.Fatal("TryWith did not run with no holder left")
	}
}
