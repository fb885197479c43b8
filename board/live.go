package board

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"grite/tools"
)

// change is what a page hears when the repository moved: the new
// generation, the issues whose events arrived, and whether claims or locks
// changed (a lock write or a lease running out changes no issue's events).
type change struct {
	Gen    uint64   `json:"gen"`
	Issues []string `json:"issues"`
	Locks  bool     `json:"locks"`
}

// hub watches the repository for the whole server and tells every open
// event stream what changed: one watch and one read of the change feed per
// change, however many pages are open. While nothing changes it does
// nothing but the watch's own once-a-second look at the WAL ref.
type hub struct {
	srv  *Server
	mu   sync.Mutex
	gen  uint64
	subs map[chan change]struct{}
	stop context.CancelFunc
	done chan struct{}
}

// subscriberBuffer is how many changes a slow page may fall behind before
// its stream is ended (its EventSource reconnects, hears the generation
// and reloads what it shows).
const subscriberBuffer = 64

func startHub(srv *Server) (*hub, error) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &hub{srv: srv, subs: map[chan change]struct{}{}, stop: cancel, done: make(chan struct{})}
	srv.mu.Lock()
	watch, err := srv.sess.WatchRepo()
	srv.mu.Unlock()
	if err != nil {
		cancel()
		return nil, err
	}
	cursor, err := h.readChanges(ctx, "now", nil)
	if err != nil {
		_ = watch.Close()
		cancel()
		return nil, err
	}
	digest, next := h.lockState(ctx)
	go h.run(ctx, watch, cursor, digest, next)
	return h, nil
}

func (h *hub) run(ctx context.Context, watch *tools.RepoWatch, cursor, digest string, nextExpiry time.Time) {
	defer close(h.done)
	defer func() { _ = watch.Close() }()
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	arm := func(at time.Time) {
		expiry.Stop()
		if !at.IsZero() {
			// A little after the expiry: a lease is over from its
			// expiry on, and clocks are read in whole milliseconds.
			expiry.Reset(time.Until(at) + 20*time.Millisecond)
		}
	}
	arm(nextExpiry)
	for {
		select {
		case <-ctx.Done():
			return
		case <-watch.C:
		case <-expiry.C:
		}
		var issues []string
		next, err := h.readChanges(ctx, cursor, func(ev []tools.ChangeEvent) {
			for _, e := range ev {
				issues = append(issues, e.IssueID)
			}
		})
		if err == nil {
			cursor = next
		} else if ctx.Err() != nil {
			return
		}
		d, at := h.lockState(ctx)
		arm(at)
		if len(issues) == 0 && d == digest && err == nil {
			continue
		}
		slices.Sort(issues)
		// An unreadable feed (a cursor a rewrite left behind) still says
		// something moved: every page reloads what it shows.
		h.publish(change{Issues: slices.Compact(issues), Locks: d != digest || err != nil})
		digest = d
	}
}

// readChanges reads the change feed from cursor to its end, giving each
// page of events to fn, and returns the cursor after them.
func (h *hub) readChanges(ctx context.Context, cursor string, fn func([]tools.ChangeEvent)) (string, error) {
	for pages := 0; pages < 100; pages++ {
		out, _, err := call(ctx, h.srv, tools.Changes, tools.ChangesInput{Since: cursor, Limit: tools.MaxChangesLimit})
		if err != nil {
			return cursor, err
		}
		cursor = out.NextCursor
		if fn != nil {
			fn(out.Events)
		}
		if !out.HasMore {
			break
		}
	}
	return cursor, nil
}

// lockState is a digest of the live locks and the soonest expiry among
// them (zero if none).
func (h *hub) lockState(ctx context.Context) (string, time.Time) {
	out, _, err := call(ctx, h.srv, tools.LockStatus, tools.LockStatusInput{})
	if err != nil {
		return "unreadable: " + err.Error(), time.Time{}
	}
	var b strings.Builder
	var soonest uint64
	for _, l := range out.Locks {
		fmt.Fprintf(&b, "%s|%s|%d\n", l.Resource, l.Owner, l.ExpiresUnixMS)
		if soonest == 0 || l.ExpiresUnixMS < soonest {
			soonest = l.ExpiresUnixMS
		}
	}
	if soonest == 0 {
		return b.String(), time.Time{}
	}
	return b.String(), time.UnixMilli(int64(soonest))
}

func (h *hub) publish(c change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	c.Gen = h.gen
	for ch := range h.subs {
		select {
		case ch <- c:
		default:
			delete(h.subs, ch) // too far behind: its stream ends
			close(ch)
		}
	}
}

// generation is the number of changes published so far. A page is
// rendered with the generation read before its data, so a page that
// hears a later one on connecting knows it may be stale.
func (h *hub) generation() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gen
}

func (h *hub) subscribe() (chan change, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan change, subscriberBuffer)
	h.subs[ch] = struct{}{}
	return ch, h.gen
}

func (h *hub) unsubscribe(ch chan change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) close() error {
	h.stop()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
	return nil
}

// keepAlive is how often an idle stream sends a comment, so proxies and
// browsers keep it open.
const keepAlive = 25 * time.Second

// live is the event stream: "hello" with the current generation, then a
// "change" for every change.
func (srv *Server) live(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	ch, gen := srv.hub.subscribe()
	defer srv.hub.unsubscribe(ch)
	fmt.Fprintf(w, "retry: 1000\nevent: hello\ndata: {\"gen\":%d}\n\n", gen)
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case c, ok := <-ch:
			if !ok {
				return
			}
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
