package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/internal/testrepo"
	"grite/wal"
)

// hostileMessage is the message of the hostile remote's commits.
const hostileMessage = "WAL: 1 events from hostile"

// walMetaJSON is meta.json of a commit on prev holding chunk.
func walMetaJSON(t *testing.T, actor event.ActorID, chunk []byte, prev string) []byte {
	t.Helper()
	return wal.MarshalMeta(wal.Meta{SchemaVersion: 1, ActorID: actor, ChunkHash: event.ChunkHash(chunk), PrevWAL: plumbing.NewHash(prev)})
}

// chunkFiles is the tree of a well-formed WAL commit on prev holding chunk
// (whose first event has timestamp ts).
func chunkFiles(t *testing.T, actor event.ActorID, chunk []byte, ts uint64, prev string) map[string][]byte {
	t.Helper()
	return map[string][]byte{
		"meta.json": walMetaJSON(t, actor, chunk, prev),
		event.ChunkPath(ts, event.ChunkHash(chunk)): chunk,
	}
}

func encodeChunk(t *testing.T, events ...event.Event) []byte {
	t.Helper()
	b, err := event.EncodeChunk(events)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyActorConfig makes actor id of clone from known in clone to: its
// config.toml (with the public key, never the signing key) is copied into
// to's actor directory, which is how a clone learns another actor's key.
func copyActorConfig(t *testing.T, from, to, id string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(gitDir(t, from), "grite", "actors", id, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "public_key") {
		t.Fatalf("actor %s has no public key:\n%s", id, b)
	}
	dir := filepath.Join(gitDir(t, to), "grite", "actors", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncPullRusage runs `grite sync --pull --json` and fails the test if the
// process peaked above maxPullRSSBytes: a hostile remote must not be able
// to make a pull allocate what a chunk claims.
func syncPullRusage(t *testing.T, dir string) (envelope, result) {
	t.Helper()
	r, _, rss := griteRusage(t, dir, "sync", "--pull", "--json")
	if rss > maxPullRSSBytes {
		t.Errorf("sync --pull peaked at %d MB, limit %d MB", rss>>20, maxPullRSSBytes>>20)
	}
	return parseEnvelope(t, r), r
}

// TestHostileRemoteWALStopsThePullAtTheBadCommit: a remote serves WAL
// commits whose chunk_hash and event IDs are valid but that are bad in
// another way: a forged or stripped signature of an actor whose public key
// this clone knows, a tree that is not meta.json plus one chunk at
// events/YYYY/MM/DD/<chunk_hash>.bin, or a chunk whose CBOR claims 2^40
// records. Whether the bad commit is the remote head or lies under an
// honest commit, the pull fails with wal_error naming it in details.commit,
// nothing moves (WAL ref, view, events), and the clone keeps working.
// Once the remote is repaired, the honest signed history pulls cleanly.
func TestHostileRemoteWALStopsThePullAtTheBadCommit(t *testing.T) {
	t.Parallel()
	remote, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	var ai struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, a, &ai, "init", "--no-agents-md", "--generate-key")
	x := create(t, a, "signed and seen by both")
	mustSync(t, a)
	own := create(t, b, "b's local work, never pushed")
	copyActorConfig(t, a, b, ai.ActorID)
	// Positive control: with a's key known, b verifies and accepts a's
	// signed events.
	if env, r := syncPullRusage(t, b); !env.OK {
		t.Fatalf("pull of validly signed events failed\n%s", r)
	}
	base := walHead(t, remote)
	if got := refOrEmpty(t, b, "refs/grite/remotes/origin/wal"); got != base {
		t.Fatalf("b tracks %s, want %s", got, base)
	}
	y := create(t, a, "signed, pulled by b only once the remote is repaired")
	mustSync(t, a)
	good := walHead(t, remote)
	src := readWALChunk(t, remote, good)
	evs, err := event.VerifyChunk(src.data)
	if err != nil || len(evs) != 1 || len(evs[0].Sig) != ed25519.SignatureSize {
		t.Fatalf("a's chunk: %d events, err %v; want one signed event", len(evs), err)
	}
	signed := evs[0]
	if signed.Actor.String() != ai.ActorID {
		t.Fatalf("event by %s, want a's actor %s", signed.Actor, ai.ActorID)
	}

	// An honest unsigned event by an actor nobody knows, for commits that
	// sit on top of a bad one and for a second chunk.
	var stranger event.ActorID
	rand.Read(stranger[:])
	honest := event.Event{IssueID: event.IssueID{1}, Actor: stranger, TS: signed.TS + 1, Kind: event.IssueCreated{Title: "honest, on top of a bad commit"}}
	if err := honest.Seal(nil); err != nil {
		t.Fatal(err)
	}
	honestChunk := encodeChunk(t, honest)

	resign := func(sig []byte) []byte {
		e := signed
		e.Sig = sig
		return encodeChunk(t, e)
	}
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(signed.Sig)
	flipped[17] ^= 0x01
	claim := append(slices.Clone(event.ChunkHeader), 0x9b, 0, 0, 1, 0, 0, 0, 0, 0, 0x88, 0x58, 0x20, 0xde, 0xad)
	pathOf := func(chunk []byte) string { return event.ChunkPath(signed.TS, event.ChunkHash(chunk)) }
	hashName := func(chunk []byte) string {
		sum := event.ChunkHash(chunk)
		return hex.EncodeToString(sum[:]) + ".bin"
	}

	for _, tc := range []struct {
		name string
		// files is the bad commit's tree, on top of prev.
		files func(prev string) map[string][]byte
		why   string // in the error message
		// buried: also try it under an honest commit (one case of each kind).
		buried bool
	}{
		{"signature by another key", func(prev string) map[string][]byte {
			return chunkFiles(t, signed.Actor, resign(ed25519.Sign(otherKey, signed.ID[:])), signed.TS, prev)
		}, "signature", true},
		{"signature with one flipped byte", func(prev string) map[string][]byte {
			return chunkFiles(t, signed.Actor, resign(flipped), signed.TS, prev)
		}, "signature", false},
		{"signature stripped", func(prev string) map[string][]byte {
			return chunkFiles(t, signed.Actor, resign(nil), signed.TS, prev)
		}, "not signed", false},
		{"extra top-level file", func(prev string) map[string][]byte {
			f := chunkFiles(t, signed.Actor, src.data, signed.TS, prev)
			f["README"] = []byte("not part of a WAL commit\n")
			return f
		}, "unexpected tree entry", false},
		{"two chunks", func(prev string) map[string][]byte {
			f := chunkFiles(t, signed.Actor, src.data, signed.TS, prev)
			f[path.Dir(pathOf(src.data))+"/"+hashName(honestChunk)] = honestChunk
			return f
		}, "exactly one chunk", true},
		{"chunk directly under events/", func(prev string) map[string][]byte {
			return map[string][]byte{"meta.json": walMetaJSON(t, signed.Actor, src.data, prev), "events/" + hashName(src.data): src.data}
		}, "expected events/", false},
		{"chunk under another date", func(prev string) map[string][]byte {
			return map[string][]byte{"meta.json": walMetaJSON(t, signed.Actor, src.data, prev), "events/2001/01/01/" + hashName(src.data): src.data}
		}, "expected events/", false},
		{"chunk one directory too deep", func(prev string) map[string][]byte {
			p := pathOf(src.data)
			return map[string][]byte{"meta.json": walMetaJSON(t, signed.Actor, src.data, prev), path.Dir(p) + "/x/" + path.Base(p): src.data}
		}, "expected events/", false},
		{"chunk outside events/", func(prev string) map[string][]byte {
			return map[string][]byte{"meta.json": walMetaJSON(t, signed.Actor, src.data, prev), "chunks/" + hashName(src.data): src.data}
		}, "unexpected tree entry", false},
		{"stray file beside the chunk", func(prev string) map[string][]byte {
			f := chunkFiles(t, signed.Actor, src.data, signed.TS, prev)
			f[path.Dir(pathOf(src.data))+"/notes.txt"] = []byte("smuggled")
			return f
		}, "unexpected", false},
		{"events is a file", func(prev string) map[string][]byte {
			return map[string][]byte{"meta.json": walMetaJSON(t, signed.Actor, src.data, prev), "events": src.data}
		}, "unexpected tree entry", false},
		{"chunk claiming 2^40 records", func(prev string) map[string][]byte {
			return map[string][]byte{"meta.json": walMetaJSON(t, signed.Actor, claim, prev), "events/2025/01/01/" + hashName(claim): claim}
		}, "records", true},
	} {
		for _, buried := range []bool{false, true} {
			if buried && !tc.buried {
				continue
			}
			name := tc.name + ", at the remote head"
			if buried {
				name = tc.name + ", under an honest commit"
			}
			t.Run(name, func(t *testing.T) {
				bad := writeTreeCommit(t, remote, base, hostileMessage, tc.files(base))
				head := bad
				if buried {
					head = writeTreeCommit(t, remote, bad, hostileMessage, chunkFiles(t, stranger, honestChunk, honest.TS, bad))
				}
				testrepo.Git(t, remote, "update-ref", "refs/grite/wal", head, good)
				defer testrepo.Git(t, remote, "update-ref", "refs/grite/wal", good, head)

				walBefore, view := walHead(t, b), rawData(t, b, "issue", "list")
				env, r := syncPullRusage(t, b)
				if env.OK || env.Error.Code != "wal_error" || r.code != 1 {
					t.Fatalf("want wal_error (exit 1)\n%s", r)
				}
				e := env.Error
				if got, _ := e.Details["commit"].(string); got != bad {
					t.Errorf("details.commit %q, want the bad commit %s\n%s", got, bad, r)
				}
				if !strings.Contains(e.Message, bad) || !strings.Contains(e.Message, tc.why) {
					t.Errorf("message %q does not name %s and say %q", e.Message, bad, tc.why)
				}
				requireSyncSuggestions(t, *e)
				if got := walHead(t, b); got != walBefore {
					t.Fatalf("b's WAL moved from %s to %s", walBefore, got)
				}
				if got := rawData(t, b, "issue", "list"); got != view {
					t.Fatalf("b's view changed:\n%s\nwant\n%s", got, view)
				}
				// Still usable.
				id := create(t, b, "written after rejecting "+bad[:8])
				if !slices.Contains(listIDs(t, b), id) {
					t.Fatalf("new issue %s not listed", id)
				}
			})
		}
	}

	// Repaired: the honest signed history pulls, and b's own work stays.
	mustSync(t, b, "--pull")
	ids := listIDs(t, b)
	for _, id := range []string{x, y, own} {
		if !slices.Contains(ids, id) {
			t.Fatalf("issue %s missing after the remote was repaired: %v", id, ids)
		}
	}
}
