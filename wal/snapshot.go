package wal

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/event"
	"grite/gitdir"
)

// SnapshotPrefix is where snapshot refs live (docs/format.md §7).
const SnapshotPrefix = "refs/grite/snapshots/"

// SnapshotChunkSize is the number of events per snapshot chunk.
const SnapshotChunkSize = 1000

// SnapshotChunk is one entry of snapshot.json's chunks.
type SnapshotChunk struct {
	Path       string `json:"path"`
	ChunkHash  string `json:"chunk_hash"`
	EventCount int    `json:"event_count"`
}

// SnapshotMeta is snapshot.json.
type SnapshotMeta struct {
	SchemaVersion int             `json:"schema_version"`
	CreatedTS     uint64          `json:"created_ts"`
	WALHead       string          `json:"wal_head"`
	EventCount    int             `json:"event_count"`
	Chunks        []SnapshotChunk `json:"chunks"`
}

// MarshalSnapshotMeta renders snapshot.json in the serde pretty style.
func MarshalSnapshotMeta(m SnapshotMeta) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  \"schema_version\": %d,\n  \"created_ts\": %d,\n  \"wal_head\": \"%s\",\n  \"event_count\": %d,\n  \"chunks\": [", m.SchemaVersion, m.CreatedTS, m.WALHead, m.EventCount)
	for i, c := range m.Chunks {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    {\n      \"path\": \"%s\",\n      \"chunk_hash\": \"%s\",\n      \"event_count\": %d\n    }", c.Path, c.ChunkHash, c.EventCount)
	}
	if len(m.Chunks) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("]\n}")
	return []byte(b.String())
}

// Snapshot is a snapshot ref.
type Snapshot struct {
	Ref       string
	CreatedTS uint64
	Commit    plumbing.Hash
}

// CreateSnapshot writes the events (in the given order) as a snapshot of
// walHead and creates its ref.
func CreateSnapshot(repo *gitdir.Repo, events []event.Event, walHead plumbing.Hash, now time.Time) (Snapshot, error) {
	if len(events) == 0 {
		return Snapshot{}, fmt.Errorf("refusing to write an empty snapshot")
	}
	ts := uint64(now.UnixMilli())
	meta := SnapshotMeta{SchemaVersion: 1, CreatedTS: ts, WALHead: walHead.String(), EventCount: len(events)}
	var entries []gitdir.TreeEntry
	for i := 0; i*SnapshotChunkSize < len(events); i++ {
		part := events[i*SnapshotChunkSize : min((i+1)*SnapshotChunkSize, len(events))]
		chunk, err := event.EncodeChunk(part)
		if err != nil {
			return Snapshot{}, err
		}
		h, err := repo.WriteObject(plumbing.BlobObject, chunk)
		if err != nil {
			return Snapshot{}, err
		}
		name := fmt.Sprintf("%04d.bin", i)
		sum := event.ChunkHash(chunk)
		entries = append(entries, gitdir.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
		meta.Chunks = append(meta.Chunks, SnapshotChunk{Path: "events/" + name, ChunkHash: hex.EncodeToString(sum[:]), EventCount: len(part)})
	}
	evTree, err := repo.WriteTree(entries)
	if err != nil {
		return Snapshot{}, err
	}
	metaHash, err := repo.WriteObject(plumbing.BlobObject, MarshalSnapshotMeta(meta))
	if err != nil {
		return Snapshot{}, err
	}
	root, err := repo.WriteTree([]gitdir.TreeEntry{
		{Name: "events", Mode: filemode.Dir, Hash: evTree},
		{Name: "snapshot.json", Mode: filemode.Regular, Hash: metaHash},
	})
	if err != nil {
		return Snapshot{}, err
	}
	commit, err := repo.WriteCommit(root, nil, fmt.Sprintf("Snapshot: %d events at %d", len(events), ts), CommitterName, CommitterEmail, now)
	if err != nil {
		return Snapshot{}, err
	}
	ref := SnapshotPrefix + strconv.FormatUint(ts, 10)
	if err := repo.UpdateRef(ref, commit, plumbing.ZeroHash); err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Ref: ref, CreatedTS: ts, Commit: commit}, nil
}

// ListSnapshots returns snapshot refs, newest first (unparsable suffix = 0).
func ListSnapshots(repo *gitdir.Repo) ([]Snapshot, error) {
	refs, err := repo.ListRefs(SnapshotPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]Snapshot, 0, len(refs))
	for name, h := range refs {
		ts, _ := strconv.ParseUint(strings.TrimPrefix(name, SnapshotPrefix), 10, 64)
		out = append(out, Snapshot{Ref: name, CreatedTS: ts, Commit: h})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedTS != out[j].CreatedTS {
			return out[i].CreatedTS > out[j].CreatedTS
		}
		return out[i].Ref > out[j].Ref
	})
	return out, nil
}

// ReadSnapshot loads a snapshot's metadata and events in stored order,
// checking every chunk against its recorded hash.
func ReadSnapshot(ctx context.Context, repo *gitdir.Repo, s Snapshot) (SnapshotMeta, []event.Event, error) {
	fail := func(format string, args ...any) (SnapshotMeta, []event.Event, error) {
		return SnapshotMeta{}, nil, &Error{Commit: s.Commit, Err: fmt.Errorf("snapshot %s: "+format, append([]any{s.Ref}, args...)...)}
	}
	r := gitdir.NewReader(repo)
	defer r.Close()
	commit, err := r.Commit(s.Commit)
	if err != nil {
		return fail("%w", err)
	}
	raw, err := r.File(commit.TreeHash, "snapshot.json", 16<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return fail("snapshot.json missing")
	} else if err != nil {
		return fail("%w", err)
	}
	var meta SnapshotMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return fail("snapshot.json: %w", err)
	}
	var events []event.Event
	for _, c := range meta.Chunks {
		data, err := r.File(commit.TreeHash, c.Path, event.MaxChunkBytes)
		if errors.Is(err, fs.ErrNotExist) {
			return fail("chunk %s missing", c.Path)
		} else if err != nil {
			return fail("%w", err)
		}
		sum := event.ChunkHash(data)
		if hex.EncodeToString(sum[:]) != c.ChunkHash {
			return fail("chunk %s: %w", c.Path, event.ErrHashMismatch)
		}
		evs, err := event.DecodeChunk(data)
		if err != nil {
			return fail("chunk %s: %w", c.Path, err)
		}
		events = append(events, evs...)
		if err := ctx.Err(); err != nil {
			return SnapshotMeta{}, nil, err
		}
	}
	return meta, events, nil
}
