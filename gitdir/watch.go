package gitdir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-git/go-git/v5/plumbing"
)

// watchPoll is how often a RefWatch reads the ref itself: the fallback for
// file systems that do not report changes (network mounts), and for
// writers that replace the whole refs directory.
const watchPoll = time.Second

// RefWatch tells when a ref may have changed, for callers that wait for
// new WAL commits instead of polling: every process of the repository
// (worktrees included) moves a ref by renaming its lock file onto the
// loose ref file, or rewrites packed-refs, and the kernel reports both.
type RefWatch struct {
	// C receives a value soon after the ref may have changed (spurious
	// wake-ups happen: callers read the ref again). It is never closed.
	C    chan struct{}
	w    *fsnotify.Watcher
	stop context.CancelFunc
	done chan struct{}
}

// WatchRef starts watching ref name (under refs/grite/), and any ref in
// the directories dirs (such as refs/grite/locks). Close it when done.
func (r *Repo) WatchRef(name string, dirs ...string) (*RefWatch, error) {
	loose := filepath.Join(r.CommonDir, filepath.FromSlash(name))
	watched := []string{filepath.Dir(loose), r.CommonDir}
	anyIn := map[string]bool{}
	for _, d := range dirs {
		d = filepath.Join(r.CommonDir, filepath.FromSlash(d))
		watched, anyIn[d] = append(watched, d), true
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	for _, dir := range watched {
		// The directories exist before their first ref, so that the
		// watch is in place for it (git ignores empty directories
		// under refs).
		if err := os.MkdirAll(dir, 0o755); err != nil {
			_ = fw.Close()
			return nil, err
		}
		if err := fw.Add(dir); err != nil {
			_ = fw.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	rw := &RefWatch{C: make(chan struct{}, 1), w: fw, stop: cancel, done: make(chan struct{})}
	last, _ := r.ReadRef(name)
	go rw.run(ctx, r, name, loose, anyIn, last)
	return rw, nil
}

func (rw *RefWatch) run(ctx context.Context, r *Repo, name, loose string, anyIn map[string]bool, last plumbing.Hash) {
	defer close(rw.done)
	packed := filepath.Join(r.CommonDir, "packed-refs")
	tick := time.NewTicker(watchPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-rw.w.Events:
			if !ok {
				return
			}
			if ev.Name == loose || ev.Name == packed || (anyIn[filepath.Dir(ev.Name)] && !strings.HasSuffix(ev.Name, ".lock")) {
				rw.wake()
			}
		case _, ok := <-rw.w.Errors:
			if !ok {
				return
			}
			rw.wake() // events may have been dropped: let the caller look
		case <-tick.C:
			if h, err := r.ReadRef(name); err == nil && h != last {
				last = h
				rw.wake()
			}
		}
	}
}

// wake signals C without blocking: one pending signal covers any number
// of changes.
func (rw *RefWatch) wake() {
	select {
	case rw.C <- struct{}{}:
	default:
	}
}

// Close stops the watch.
func (rw *RefWatch) Close() error {
	rw.stop()
	err := rw.w.Close()
	<-rw.done
	return err
}
