package e2e

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"grite/internal/testrepo"
)

// Builders of git objects with git plumbing alone (hash-object, mktree,
// commit-tree): the hand-made, damaged or forged WAL commits the tests
// feed grite, written without any of grite's own code.

func hashObject(t *testing.T, dir string, data []byte) string {
	t.Helper()
	return strings.TrimSpace(string(testrepo.GitStdin(t, dir, data, "hash-object", "-w", "--stdin")))
}

func mktree(t *testing.T, dir, entries string) string {
	t.Helper()
	return strings.TrimSpace(string(testrepo.GitStdin(t, dir, []byte(entries+"\n"), "mktree")))
}

// writeTree writes a tree holding exactly files (slash-separated paths to
// contents) and returns it.
func writeTree(t *testing.T, repo string, files map[string][]byte) string {
	t.Helper()
	blobs := map[string][]byte{}
	dirs := map[string]map[string][]byte{}
	for p, data := range files {
		if first, rest, ok := strings.Cut(p, "/"); ok {
			if dirs[first] == nil {
				dirs[first] = map[string][]byte{}
			}
			dirs[first][rest] = data
		} else {
			blobs[p] = data
		}
	}
	var lines []string
	for name, data := range blobs {
		lines = append(lines, "100644 blob "+hashObject(t, repo, data)+"\t"+name)
	}
	for name, sub := range dirs {
		lines = append(lines, "040000 tree "+writeTree(t, repo, sub)+"\t"+name)
	}
	sort.Strings(lines) // mktree sorts too; this keeps the input stable
	return mktree(t, repo, strings.Join(lines, "\n"))
}

// writeTreeCommit builds, in repo, a commit whose tree holds exactly files
// with parent as its only parent (none when empty), and returns it; no
// ref moves.
func writeTreeCommit(t *testing.T, repo, parent, message string, files map[string][]byte) string {
	t.Helper()
	args := []string{"commit-tree", writeTree(t, repo, files), "-m", message}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	return testrepo.Git(t, repo, args...)
}

// chunkHashHex is the BLAKE2b-256 of a chunk, as meta.json and the chunk's
// file name give it.
func chunkHashHex(data []byte) string {
	sum := blake2b.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// handChunk is a WAL commit to write by hand: data as the chunk file
// <dir>/<fileHash>.bin, and meta.json naming actor and metaHash (both
// hashes default to the chunk's own).
type handChunk struct {
	actor              string
	dir                string // events/YYYY/MM/DD
	data               []byte
	metaHash, fileHash string
	message            string // default "WAL: hand-made"
}

// writeChunkCommit writes c as a WAL commit on parent (also its meta.json
// prev_wal) and returns it; the ref is not moved.
func writeChunkCommit(t *testing.T, repo, parent string, c handChunk) string {
	t.Helper()
	if c.metaHash == "" {
		c.metaHash = chunkHashHex(c.data)
	}
	if c.fileHash == "" {
		c.fileHash = chunkHashHex(c.data)
	}
	if c.message == "" {
		c.message = "WAL: hand-made"
	}
	meta := fmt.Sprintf("{\n  \"schema_version\": 1,\n  \"actor_id\": %q,\n  \"chunk_hash\": %q,\n  \"prev_wal\": %q\n}", c.actor, c.metaHash, parent)
	return writeTreeCommit(t, repo, parent, c.message, map[string][]byte{
		"meta.json":                       []byte(meta),
		c.dir + "/" + c.fileHash + ".bin": c.data,
	})
}
