package e2e

import (
	"bytes"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// walChunk is the one chunk file of a WAL commit.
type walChunk struct {
	dir   string // events/YYYY/MM/DD
	data  []byte
	actor string // meta.json actor_id
}

func readWALChunk(t *testing.T, repo, commit string) walChunk {
	t.Helper()
	var bin string
	for _, p := range strings.Split(testrepo.Git(t, repo, "ls-tree", "-r", "--name-only", commit), "\n") {
		if strings.HasSuffix(p, ".bin") {
			bin = p
		}
	}
	if bin == "" {
		t.Fatalf("WAL commit %s has no chunk", commit)
	}
	objs := catBatch(t, repo, []string{commit + ":" + bin, commit + ":meta.json"})
	var meta struct {
		ActorID string `json:"actor_id"`
	}
	if err := json.Unmarshal(objs[1], &meta); err != nil {
		t.Fatal(err)
	}
	return walChunk{dir: path.Dir(bin), data: objs[0], actor: meta.ActorID}
}

func TestSyncRejectsForgedRemoteCommitsAndKeepsLocalWork(t *testing.T) {
	t.Parallel()
	remote, a, b, x := twoClonesSharing(t, "seen by both")
	const title = "valid but not yet pulled by b"
	y := create(t, a, title)
	mustSync(t, a)
	good := refOrEmpty(t, remote, "refs/grite/wal")
	src := readWALChunk(t, remote, good)
	own := create(t, b, "b's local work")
	ownEvents := exportedEventIDs(t, b)
	bIDs := []string{x, own}

	flip := func(data []byte, i int, mask byte) []byte {
		d := slices.Clone(data)
		d[i] ^= mask
		return d
	}
	titleAt := bytes.Index(src.data, []byte(title))
	if titleAt < 0 {
		t.Fatalf("chunk does not hold the title %q", title)
	}
	srcHash := chunkHashHex(src.data)
	for _, tc := range []struct {
		name string
		// forge returns the chunk bytes, meta.json's chunk_hash and the
		// chunk's file name.
		forge func() (data []byte, metaHash, fileHash string)
	}{
		{"flipped bit, names the original chunk_hash", func() ([]byte, string, string) {
			return flip(src.data, len(src.data)/2, 0x01), srcHash, srcHash
		}},
		{"flipped magic byte, chunk_hash recomputed", func() ([]byte, string, string) {
			d := flip(src.data, 0, 0x20)
			return d, chunkHashHex(d), chunkHashHex(d)
		}},
		{"chunk_hash in meta.json does not match the chunk", func() ([]byte, string, string) {
			return src.data, chunkHashHex([]byte("another chunk")), srcHash
		}},
		{"event ID does not match the event (text edited, CBOR valid)", func() ([]byte, string, string) {
			d := flip(src.data, titleAt+len(title)-1, 0x01) // "...b" -> "...c"
			return d, chunkHashHex(d), chunkHashHex(d)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, metaHash, fileHash := tc.forge()
			bad := writeChunkCommit(t, remote, good, handChunk{actor: src.actor, dir: src.dir, data: data,
				metaHash: metaHash, fileHash: fileHash, message: "WAL: 1 events from " + src.actor[:8]})
			testrepo.Git(t, remote, "update-ref", "refs/grite/wal", bad, good)
			defer testrepo.Git(t, remote, "update-ref", "refs/grite/wal", good, bad)

			head, view, events := walHead(t, b), rawData(t, b, "issue", "list"), exportedEventIDs(t, b)
			e := mustFail(t, b, "wal_error", 1, "sync")
			if got, _ := e.Details["commit"].(string); got != bad {
				t.Errorf("details.commit %q, want the forged commit %s (%+v)", got, bad, e)
			}
			if !strings.Contains(e.Message, bad) {
				t.Errorf("message %q does not name %s", e.Message, bad)
			}
			requireSyncSuggestions(t, e)
			if got := walHead(t, b); got != head {
				t.Fatalf("b's WAL moved from %s to %s", head, got)
			}
			if got := rawData(t, b, "issue", "list"); got != view {
				t.Fatalf("b's view changed:\n%s\nwant\n%s", got, view)
			}
			if got := exportedEventIDs(t, b); !slices.Equal(got, events) {
				t.Fatalf("b's events changed: %d, had %d", len(got), len(events))
			}
			// Still usable.
			bIDs = append(bIDs, create(t, b, "written after rejecting "+bad[:8]))
			requireIDs(t, b, bIDs)
		})
	}

	// b's local work survived all of it, and once the remote is clean
	// again the two clones converge.
	if got := exportedEventIDs(t, b); len(got) != len(ownEvents)+4 {
		t.Fatalf("b has %d events, want %d", len(got), len(ownEvents)+4)
	}
	mustSync(t, b)
	mustSync(t, a)
	requireIDs(t, a, listIDs(t, b))
	if !slices.Contains(listIDs(t, b), y) || !slices.Contains(listIDs(t, a), own) {
		t.Fatal("clones did not exchange their issues after the remote was repaired")
	}
	requireSameView(t, "a", readViewState(t, a), "b", readViewState(t, b))
}
