package e2e

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

// A read-only command leaves its view for the process exit to close (no
// checkpoint, no removal of the -wal and -shm files); a command that wrote
// the view closes it, so its log is checkpointed into the database and
// removed. Either way the next commands, readers and writers, see
// everything, and doctor finds the view sound.
func TestReadOnlyCommandsLeaveTheViewToTheExit(t *testing.T) {
	t.Parallel()
	dir, actorID := newRepo(t)
	wal := viewPath(t, dir, actorID) + "-wal"
	walState := func() (exists bool, size int64) {
		t.Helper()
		fi, err := os.Stat(wal)
		if errors.Is(err, fs.ErrNotExist) {
			return false, 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return true, fi.Size()
	}

	ids := []string{create(t, dir, "one"), create(t, dir, "two")}
	if exists, _ := walState(); exists {
		t.Fatal("the view's log is still there after a command that wrote it")
	}
	for _, args := range [][]string{{"issue", "list"}, {"issue", "show", ids[0][:8]}, {"issue", "ready"}} {
		if r := grite(t, dir, args...); r.code != 0 {
			t.Fatalf("%s", r)
		}
		if exists, size := walState(); !exists || size != 0 {
			t.Fatalf("after %v: log exists %v, %d bytes; want an empty log left to the exit", args, exists, size)
		}
	}
	ids = append(ids, create(t, dir, "three"))
	if exists, _ := walState(); exists {
		t.Fatal("a write after reads left the view's log behind")
	}
	requireIDs(t, dir, ids)
	if out, r := doctor(t, dir); !out.Healthy {
		t.Fatalf("doctor: %s", r)
	}
}
