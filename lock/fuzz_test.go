package lock_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/lock"
)

// FuzzReadLockJSON reads lock commits whose lock.json is arbitrary bytes
// through Manager.ReadCommit, the path every lock ref takes (lock refs
// travel with sync, so the file is foreign input). It must not panic and
// must refuse files over 64 KiB; it accepts at least what json.Unmarshal
// accepts, with the same result; and whatever it accepts, Marshal renders
// as valid JSON in the fixed key order that parses back to the same lock.
// Seeds: testdata/fuzz/FuzzReadLockJSON.
func FuzzReadLockJSON(f *testing.F) {
	repo, err := gitdir.Discover(testrepo.New(f))
	if err != nil {
		f.Fatal(err)
	}
	m := lock.New(repo)
	commit := func(t *testing.T, b []byte) plumbing.Hash {
		blob, err := repo.WriteObject(plumbing.BlobObject, b)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := repo.WriteTree([]gitdir.TreeEntry{{Name: "lock.json", Mode: filemode.Regular, Hash: blob}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := repo.WriteCommit(tree, nil, "Lock: fuzz", lock.CommitterName, lock.CommitterEmail, time.Unix(1_700_000_000, 0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := m.ReadCommit(commit(t, b))
		var strict lock.Lock
		if json.Unmarshal(b, &strict) == nil {
			if err != nil && len(b) <= 64<<10 {
				t.Fatalf("ReadCommit refused what json.Unmarshal accepts: %v", err)
			}
			if err == nil && l != strict {
				t.Fatalf("ReadCommit read %+v, json.Unmarshal %+v", l, strict)
			}
		}
		if err != nil {
			return
		}
		if len(b) > 64<<10 {
			t.Fatalf("accepted a lock.json of %d bytes", len(b))
		}
		out := lock.Marshal(l)
		if !json.Valid(out) || !bytes.HasPrefix(out, []byte("{\n  \"owner\": ")) {
			t.Fatalf("Marshal wrote %s", out)
		}
		var again lock.Lock
		if err := json.Unmarshal(out, &again); err != nil || again != l {
			t.Fatalf("round trip of %+v gave %+v (%v)", l, again, err)
		}
	})
}
