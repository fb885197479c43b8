package e2e

import (
	"fmt"
	"os"
	"testing"
)

// A read-only command leaves its view for the process exit to close (no
// checkpoint, no removal of the -wal and -shm files); a command that wrote
// the view closes it, so its log is checkpointed into the database, and
// keeps both files, the log truncated to nothing. Either way the next
// commands, readers and writers, see everything, and doctor finds the view
// sound.
func TestReadOnlyCommandsLeaveTheViewToTheExit(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	view := viewPath(t, dir)
	// requireEmptyLog checks that both files are there, the log empty: no
	// frame waits to be checkpointed, and nothing was removed.
	requireEmptyLog := func(after string) {
		t.Helper()
		fi, err := os.Stat(view + "-wal")
		if err != nil || fi.Size() != 0 {
			t.Fatalf("after %s: log %v, %v; want an empty log kept", after, fi, err)
		}
		if _, err := os.Stat(view + "-shm"); err != nil {
			t.Fatalf("after %s: %v", after, err)
		}
	}

	ids := []string{create(t, dir, "one"), create(t, dir, "two")}
	requireEmptyLog("create")
	// A reader's close would remove the files: show that it did not run.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(view + suffix); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"issue", "list"}, {"issue", "show", ids[0][:8]}, {"issue", "ready"}} {
		if r := grite(t, dir, args...); r.code != 0 {
			t.Fatalf("%s", r)
		}
		requireEmptyLog(fmt.Sprint(args))
	}
	ids = append(ids, create(t, dir, "three"))
	requireEmptyLog("a create after reads")
	requireIDs(t, dir, ids)
	if out, r := doctor(t, dir); !out.Healthy {
		t.Fatalf("doctor: %s", r)
	}
}
