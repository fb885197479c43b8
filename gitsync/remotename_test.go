package gitsync

import (
	"testing"

	"grite/internal/testrepo"
)

// A remote given as a path or URL rather than a configured name syncs
// like one, its tracking refs named so that git accepts them (a path or
// URL is not a valid part of a ref name).
func TestSyncWithARemoteGivenAsAPathOrURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(remote string) string
	}{
		{"absolute path", func(r string) string { return r }},
		{"file URL", func(r string) string { return "file://" + r }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			remote := testrepo.NewBare(t)
			a := newClone(t, remote, false)
			ids := a.write("one")
			var res Result
			if err := a.syncer(Config{Remote: tc.url(remote)}).Push(ctx, &res); err != nil || !res.Pushed {
				t.Fatalf("push to %s: %v %+v", tc.url(remote), err, res)
			}
			b := newClone(t, remote, false)
			s := b.syncer(Config{Remote: tc.url(remote)})
			res = Result{}
			if err := s.Pull(ctx, &res); err != nil || res.EventsPulled != 1 || res.NewEvents[0].ID != ids[0] || b.head() != a.head() {
				t.Fatalf("pull from %s: %v %+v", tc.url(remote), err, res)
			}
			tracking := s.TrackingRef()
			if _, err := testrepo.GitErr(b.dir, "check-ref-format", tracking); err != nil {
				t.Fatalf("tracking ref %q is not a valid ref name", tracking)
			}
			if got := testrepo.Git(t, b.dir, "rev-parse", tracking); got != a.head().String() {
				t.Fatalf("git reads tracking ref %s as %s, want %s", tracking, got, a.head())
			}
		})
	}
}

// Tracking refs keep a remote's name when it can be part of a ref name,
// and name any other remote by a hash of it.
func TestTrackingNameIsAValidRefNamePart(t *testing.T) {
	for _, tc := range []struct {
		remote string
		kept   bool
	}{
		{"origin", true},
		{"team/upstream", true},
		{"remote.git", true},
		{"/srv/git/remote.git", false},
		{"file:///srv/git/remote.git", false},
		{"https://example.com/x.git", false},
		{"git@example.com:x.git", false},
		{"../remote.git", false},
		{"C:\\repos\\x", false},
		{"trailing/", false},
		{"x.lock", false},
		{".hidden", false},
		{"a b", false},
		{"@", false},
	} {
		got := TrackingName(tc.remote)
		if kept := got == tc.remote; kept != tc.kept {
			t.Errorf("TrackingName(%q) = %q, kept %v, want %v", tc.remote, got, kept, tc.kept)
		}
		if _, err := testrepo.GitErr(".", "check-ref-format", "refs/grite/remotes/"+got+"/wal"); err != nil {
			t.Errorf("TrackingName(%q) = %q: not a valid ref name part", tc.remote, got)
		}
	}
	if TrackingName("/a/x.git") == TrackingName("/b/x.git") {
		t.Error("two paths share one tracking name")
	}
}
