package e2e

import (
	"bufio"
	"compress/zlib"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"grite/event"
	"grite/internal/testrepo"
	"grite/wal"
)

// maxPullRSSBytes is the peak memory a pull of a large honest history may
// take (the grite process, and the git processes it ran, whichever peaked).
const maxPullRSSBytes = 300 << 20

// TestHostileRemoteLargeHonestHistoryPullsInBoundedMemory: a fresh clone
// pulls a remote WAL of 10,000 one-event commits (the shape every CLI append
// makes) in one `grite sync --pull`, and the process's peak RSS stays under
// 300 MB. GRITE_BIG=1 runs the same at 100,000 commits
// (TestHostileRemoteHugeHonestHistoryPullsInBoundedMemory).
func TestHostileRemoteLargeHonestHistoryPullsInBoundedMemory(t *testing.T) {
	t.Parallel()
	n := 10_000
	if testing.Short() {
		n = 2_000
	}
	pullLargeHistory(t, n)
}

func TestHostileRemoteHugeHonestHistoryPullsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("100k-commit history: not with -short")
	}
	if os.Getenv("GRITE_BIG") != "1" {
		t.Skip("100k-commit history: set GRITE_BIG=1 to run it")
	}
	pullLargeHistory(t, 100_000)
}

func pullLargeHistory(t *testing.T, commits int) {
	remote := testrepo.NewBare(t)
	start := time.Now()
	head, issues := writeHonestHistory(t, remote, commits)
	built := time.Since(start)
	clone := testrepo.Clone(t, remote)

	start = time.Now()
	r, rusage, rss := griteRusage(t, clone, "sync", "--pull", "--json")
	took := time.Since(start)
	env := parseEnvelope(t, r)
	if !env.OK || r.code != 0 {
		t.Fatalf("sync --pull of %d commits failed\n%s", commits, r)
	}
	var out syncOutput
	if err := jsonUnmarshal(env.Data, &out); err != nil {
		t.Fatal(err)
	}
	cpu := time.Duration(rusage.Utime.Nano() + rusage.Stime.Nano())
	t.Logf("pulled %d events in %d commits (%d issues) in %.1f s (%.1f s CPU), peak RSS %.1f MB (history built in %.1f s)",
		out.EventsPulled, commits, issues, took.Seconds(), cpu.Seconds(), float64(rss)/(1<<20), built.Seconds())
	if out.EventsPulled != commits || out.WALHead != head || walHead(t, clone) != head {
		t.Fatalf("pull: %+v, want %d events and WAL head %s", out, commits, head)
	}
	if rss > maxPullRSSBytes {
		t.Errorf("peak RSS of sync --pull was %d MB, limit %d MB", rss>>20, maxPullRSSBytes>>20)
	}
	// The view holds every issue; a page of the listing is enough to read.
	var page listOutput
	mustJSON(t, clone, &page, "issue", "list", "--limit", "5")
	if page.Total != issues {
		t.Fatalf("issue list total %d, want %d", page.Total, issues)
	}
}

// griteRusage runs the grite binary in dir and returns its result, its
// resource usage (CPU times) and its peak resident set size in bytes.
// The peak is the process's own high-water mark (VmHWM), polled while it
// runs: the rusage maxrss of a child that Go starts with vfork begins at
// the parent's, so in a test binary grown large it measured the test.
func griteRusage(t *testing.T, dir string, args ...string) (result, *syscall.Rusage, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testrepo.BuildBinaries(t).Grite, args...)
	cmd.Dir = dir
	cmd.Env = testrepo.Env()
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	// The child's rusage peak (ru_maxrss) starts at this process's own peak:
	// exec carries over the peak of the memory it replaces, which with
	// Go's vfork is ours. It says something of grite only above that.
	inherited := vmHWM("/proc/self/status")
	if err := cmd.Start(); err != nil {
		t.Fatalf("grite %v: %v", args, err)
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	stop, peakc := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if hwm := vmHWM(status); hwm > peak {
				peak = hwm
			}
			select {
			case <-stop:
				peakc <- peak
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(stop)
	peak := <-peakc
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("grite %v: %v\nstderr: %s", args, err, e.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no resource usage of grite %v on this platform", args)
	}
	if own := ru.Maxrss << 10; own > inherited {
		// grite's or a git process's own peak, which the samples of
		// grite's status may have missed (a git child, or a process gone
		// before the first look).
		peak = max(peak, own)
	}
	return result{args, o.String(), e.String(), cmd.ProcessState.ExitCode()}, ru, peak
}

// vmHWM reads the peak resident set size from a /proc/PID/status file, in
// bytes; 0 once the process is gone.
func vmHWM(status string) int64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err == nil {
				return kib << 10
			}
		}
	}
	return 0
}

// writeHonestHistory writes a valid WAL of n one-event commits into the
// bare repository remote and points refs/grite/wal at its head. Every tenth
// event creates an issue, the others comment on or label the newest one;
// three actors take turns. The commits are exactly what wal.Append writes
// (meta.json from wal.MarshalMeta, chunk and path from the event package,
// the same trees and identity), but the objects go straight into one pack
// that `git index-pack` installs: appending loose objects one commit at a
// time takes minutes for 100k commits, far more under -race. The objects'
// zlib streams are stored, not deflated: deflate dominated under -race.
func writeHonestHistory(t *testing.T, remote string, n int) (head string, issues int) {
	t.Helper()
	pw := newPackWriter(t, filepath.Join(t.TempDir(), "history.pack"))
	var actors [3]event.ActorID
	for i := range actors {
		rand.Read(actors[i][:])
	}
	base := uint64(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	var issue event.IssueID
	var prev plumbing.Hash
	for i := range n {
		ts := base + uint64(i)*1500 // 100k commits span three days
		a := actors[i%len(actors)]
		e := event.Event{IssueID: issue, Actor: a, TS: ts}
		switch i % 10 {
		case 0:
			rand.Read(issue[:])
			issues++
			e.IssueID = issue
			e.Kind = event.IssueCreated{
				Title:  fmt.Sprintf("Issue %d: sync drops events when the remote was rewritten", i),
				Body:   "Steps to reproduce, what was expected and what happened instead.",
				Labels: []string{"bug", fmt.Sprintf("p%d", i%4)},
			}
		case 5:
			e.Kind = event.LabelAdded{Label: "triaged"}
		default:
			e.Kind = event.CommentAdded{Body: fmt.Sprintf("comment %d: looks like the same bug, seen again on the nightly build", i)}
		}
		if err := e.Seal(nil); err != nil {
			t.Fatal(err)
		}
		chunk, err := event.EncodeChunk([]event.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		sum := event.ChunkHash(chunk)
		// events/YYYY/MM/DD/<hash>.bin, trees from the leaf up.
		parts := strings.Split(event.ChunkPath(ts, sum), "/")
		h, name, mode := pw.add(plumbing.BlobObject, chunk), parts[len(parts)-1], filemode.Regular
		for j := len(parts) - 2; j >= 0; j-- {
			h = pw.tree(object.TreeEntry{Name: name, Mode: mode, Hash: h})
			name, mode = parts[j], filemode.Dir
		}
		meta := pw.add(plumbing.BlobObject, wal.MarshalMeta(wal.Meta{SchemaVersion: 1, ActorID: a, ChunkHash: sum, PrevWAL: prev}))
		root := pw.tree(object.TreeEntry{Name: "events", Mode: filemode.Dir, Hash: h},
			object.TreeEntry{Name: "meta.json", Mode: filemode.Regular, Hash: meta})
		sig := object.Signature{Name: wal.CommitterName, Email: wal.CommitterEmail, When: time.UnixMilli(int64(ts)).UTC()}
		c := &object.Commit{Author: sig, Committer: sig, Message: fmt.Sprintf("WAL: 1 events from %s", a.Short()), TreeHash: root}
		if !prev.IsZero() {
			c.ParentHashes = []plumbing.Hash{prev}
		}
		prev = pw.encoded(c)
	}
	pack := pw.finish()
	f, err := os.Open(pack)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("git", "index-pack", "--stdin")
	cmd.Dir, cmd.Env, cmd.Stdin = remote, testrepo.Env(), f
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git index-pack: %v\n%s", err, out)
	}
	testrepo.Git(t, remote, "update-ref", wal.Ref, prev.String())
	return prev.String(), issues
}

// packWriter streams objects into a version-2 pack file without deltas.
type packWriter struct {
	t     *testing.T
	f     *os.File
	w     *bufio.Writer
	zw    *zlib.Writer
	count uint32
}

func newPackWriter(t *testing.T, path string) *packWriter {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("PACK\x00\x00\x00\x02\x00\x00\x00\x00") // the count is patched in finish
	zw, err := zlib.NewWriterLevel(w, zlib.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	return &packWriter{t: t, f: f, w: w, zw: zw}
}

// add writes one object and returns its ID.
func (p *packWriter) add(typ plumbing.ObjectType, data []byte) plumbing.Hash {
	// Type and size: 3 bits of type and 4 of size, then 7 bits per byte.
	size := len(data)
	b := byte(typ)<<4 | byte(size&0x0f)
	for size >>= 4; size > 0; size >>= 7 {
		p.w.WriteByte(b | 0x80)
		b = byte(size & 0x7f)
	}
	p.w.WriteByte(b)
	p.zw.Reset(p.w)
	p.zw.Write(data)
	if err := p.zw.Close(); err != nil {
		p.t.Fatal(err)
	}
	p.count++
	return plumbing.ComputeHash(typ, data)
}

// tree writes a tree of entries, which must be in git order already.
func (p *packWriter) tree(entries ...object.TreeEntry) plumbing.Hash {
	return p.encoded(&object.Tree{Entries: entries})
}

func (p *packWriter) encoded(o interface {
	Encode(plumbing.EncodedObject) error
}) plumbing.Hash {
	obj := &plumbing.MemoryObject{}
	if err := o.Encode(obj); err != nil {
		p.t.Fatal(err)
	}
	r, _ := obj.Reader()
	data, _ := io.ReadAll(r)
	return p.add(obj.Type(), data)
}

// finish patches the object count into the header, appends the SHA-1
// trailer and returns the pack's path.
func (p *packWriter) finish() string {
	if err := p.w.Flush(); err != nil {
		p.t.Fatal(err)
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], p.count)
	if _, err := p.f.WriteAt(n[:], 8); err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		p.t.Fatal(err)
	}
	h := sha1.New()
	if _, err := io.Copy(h, p.f); err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.f.Write(h.Sum(nil)); err != nil {
		p.t.Fatal(err)
	}
	if err := p.f.Close(); err != nil {
		p.t.Fatal(err)
	}
	return p.f.Name()
}
