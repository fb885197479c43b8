package gitdir

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// A spare becomes a lock file that looks new from the moment it appears
// and then holds the new value: an hour-old spare renamed as it was would
// look like a dead writer's lock (staleLockAge) to a writer that does not
// take the turn, which would remove it from under the update.
func TestOpenSpareMakesAFreshWholeLockFile(t *testing.T) {
	dir := t.TempDir()
	spare, lock := filepath.Join(dir, "spare"), filepath.Join(dir, "wal.lock")
	if err := os.WriteFile(spare, []byte(plumbing.ZeroHash.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(spare, old, old); err != nil {
		t.Fatal(err)
	}
	value := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	f := openSpare(spare, lock, func(f *os.File) error {
		// The lock file looks new from the moment it appears.
		if fi, err := os.Stat(lock); err != nil || time.Since(fi.ModTime()) > staleLockAge/2 {
			t.Errorf("when it appears the lock file is %v old (%v)", time.Since(fi.ModTime()), err)
		}
		return rewriteRefValue(f, value)
	})
	if f == nil {
		t.Fatal("the spare was not taken")
	}
	defer f.Close()
	if b, err := os.ReadFile(lock); err != nil || string(b) != value.String()+"\n" {
		t.Errorf("the lock file holds %q (%v), want the new value", b, err)
	}
	if _, err := os.Stat(spare); !os.IsNotExist(err) {
		t.Errorf("the spare is still there: %v", err)
	}
	// A second taking finds no spare; with one, an existing lock file wins.
	if g := openSpare(spare, lock, func(*os.File) error { return nil }); g != nil {
		g.Close()
		t.Error("took a spare that was gone")
	}
	if err := os.WriteFile(spare, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g := openSpare(spare, lock, func(*os.File) error { return nil }); g != nil {
		g.Close()
		t.Error("took the spare over an existing lock file")
	}
}
