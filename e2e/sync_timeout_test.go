package e2e

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"grite/internal/testrepo"
)

// A remote that accepts the connection and then never answers (a hung
// server, a dead network path) must not hang the sync: the fetch is bound
// by --timeout, the sync fails with git_error saying so, and local work
// stays. The silent server is a loopback listener that holds every
// connection open without a byte.
func TestSyncAgainstARemoteThatNeverAnswersTimesOut(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()

	dir := testrepo.New(t)
	testrepo.Git(t, dir, "remote", "add", "origin", "git://"+ln.Addr().String()+"/silent.git")
	id := create(t, dir, "kept")
	began := time.Now()
	e := mustFail(t, dir, "git_error", 1, "sync", "--timeout", "1s")
	if took := time.Since(began); took > 30*time.Second {
		t.Fatalf("sync with --timeout 1s returned after %s", took) // a bound on hanging, not a timing target
	}
	if !strings.Contains(e.Message, "did not finish within 1s") {
		t.Fatalf("message %q does not say the remote stopped answering within the timeout", e.Message)
	}
	if !strings.Contains(fmt.Sprint(e.Details["suggestions"]), "--timeout") {
		t.Fatalf("suggestions %v do not mention --timeout", e.Details["suggestions"])
	}
	if !slices.Contains(listIDs(t, dir), id) {
		t.Fatal("the timed-out sync lost local work")
	}
}
