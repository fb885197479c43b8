package crdt

import (
	"testing"

	"grite/event"
)

// actor and issue make readable IDs whose byte order is their argument's order.
func actor(n byte) event.ActorID { return event.ActorID{n} }
func issue(n byte) event.IssueID { return event.IssueID{n} }

func ptr(s string) *string { return &s }

// sealed builds an event whose ID is its real content hash.
func sealed(t testing.TB, id event.IssueID, a event.ActorID, ts uint64, k event.Kind) event.Event {
	t.Helper()
	e := event.Event{IssueID: id, Actor: a, TS: ts, Kind: k}
	if err := e.Seal(nil); err != nil {
		t.Fatalf("seal %s: %v", k.KindName(), err)
	}
	return e
}

// eventBuilder binds the test and one issue so tables stay short.
type eventBuilder struct {
	t  testing.TB
	id event.IssueID
}

func on(t testing.TB, id event.IssueID) eventBuilder { return eventBuilder{t, id} }

func (b eventBuilder) create(a event.ActorID, ts uint64, title string, labels ...string) event.Event {
	if labels == nil {
		labels = []string{}
	}
	return sealed(b.t, b.id, a, ts, event.IssueCreated{Title: title, Body: "body of " + title, Labels: labels})
}

func (b eventBuilder) update(a event.ActorID, ts uint64, title, body *string) event.Event {
	return sealed(b.t, b.id, a, ts, event.IssueUpdated{Title: title, Body: body})
}

func (b eventBuilder) retitle(a event.ActorID, ts uint64, title string) event.Event {
	return b.update(a, ts, &title, nil)
}

func (b eventBuilder) comment(a event.ActorID, ts uint64, body string) event.Event {
	return sealed(b.t, b.id, a, ts, event.CommentAdded{Body: body})
}

func (b eventBuilder) label(a event.ActorID, ts uint64, l string, add bool) event.Event {
	if add {
		return sealed(b.t, b.id, a, ts, event.LabelAdded{Label: l})
	}
	return sealed(b.t, b.id, a, ts, event.LabelRemoved{Label: l})
}

func (b eventBuilder) assignee(a event.ActorID, ts uint64, u string, add bool) event.Event {
	if add {
		return sealed(b.t, b.id, a, ts, event.AssigneeAdded{User: u})
	}
	return sealed(b.t, b.id, a, ts, event.AssigneeRemoved{User: u})
}

func (b eventBuilder) dep(a event.ActorID, ts uint64, target event.IssueID, typ event.DepType, add bool) event.Event {
	if add {
		return sealed(b.t, b.id, a, ts, event.DependencyAdded{Target: target, Type: typ})
	}
	return sealed(b.t, b.id, a, ts, event.DependencyRemoved{Target: target, Type: typ})
}

func (b eventBuilder) state(a event.ActorID, ts uint64, s event.State) event.Event {
	return sealed(b.t, b.id, a, ts, event.StateChanged{State: s})
}

func (b eventBuilder) link(a event.ActorID, ts uint64, url string, note *string) event.Event {
	return sealed(b.t, b.id, a, ts, event.LinkAdded{URL: url, Note: note})
}

func (b eventBuilder) attach(a event.ActorID, ts uint64, name string) event.Event {
	return sealed(b.t, b.id, a, ts, event.AttachmentAdded{Name: name, SHA256: [32]byte{byte(len(name))}, MIME: "text/plain"})
}

// permutations calls f with every ordering of events (use only for small sets).
func permutations(events []event.Event, f func([]event.Event)) {
	perm := make([]event.Event, len(events))
	copy(perm, events)
	var rec func(k int)
	rec = func(k int) {
		if k == len(perm) {
			f(perm)
			return
		}
		for i := k; i < len(perm); i++ {
			perm[k], perm[i] = perm[i], perm[k]
			rec(k + 1)
			perm[k], perm[i] = perm[i], perm[k]
		}
	}
	rec(0)
}

// inEveryOrder folds events in every order and hands each projection to check.
func inEveryOrder(t *testing.T, events []event.Event, check func(t *testing.T, p *Projection)) {
	t.Helper()
	if len(events) > 7 {
		t.Fatalf("inEveryOrder: %d events is too many to permute", len(events))
	}
	permutations(events, func(order []event.Event) {
		if t.Failed() {
			return // one failing order is enough output
		}
		check(t, Fold(order))
	})
}

// mustIssue returns the issue or fails the test.
func mustIssue(t *testing.T, p *Projection, id event.IssueID) Issue {
	t.Helper()
	is, ok := p.Issue(id)
	if !ok {
		t.Fatalf("issue %s not created; pending %v", id, p.Pending())
	}
	return is
}
