package tools_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"grite/actor"
	"grite/tools"
)

// actor gc removes the data of idle actors only: never the default, the
// caller, an actor holding a live lock, one with a signing key or one a
// session has open; a dry run removes nothing and says the same. The
// removed actors' events stay.
func TestActorGC(t *testing.T) {
	for _, dryRun := range []bool{true, false} {
		name := "remove"
		if dryRun {
			name = "dry run"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			r := newCoordRepo(t)
			def := r.agent("default") // the first actor becomes the default
			wrote := r.agent("wrote")
			idle := r.agent("idle")
			locker := r.agent("locker")
			open := r.agent("open")
			recent := r.agent("recent")
			id := coordMust(wrote, tools.IssueCreate, tools.IssueCreateInput{Title: "written before going idle"}).IssueID
			bare, err := tools.OpenBare(r.dir, r.clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			keyed, err := tools.ActorInit.Call(ctx, bare, tools.ActorInitInput{Label: "keyed", GenerateKey: true})
			if err != nil {
				t.Fatal(err)
			}
			r.clock.advance(40 * 24 * time.Hour)
			coordMust(locker, tools.Lock, tools.LockInput{Action: "acquire", Resource: "path:src/", TTL: "1h"})
			coordMust(recent, tools.IssueCreate, tools.IssueCreateInput{Title: "written after the cutoff"})
			for _, a := range []*coordAgent{wrote, idle, locker, recent} {
				a.s.Close()
			}
			if err := def.s.CatchUp(ctx); err != nil { // as every command does first
				t.Fatal(err)
			}
			out, err := tools.ActorGC.Call(ctx, def.s, tools.ActorGCInput{OlderThan: 30 * 24 * time.Hour, DryRun: dryRun})
			if err != nil {
				t.Fatal(err)
			}
			var removed []string
			for _, a := range out.Removed {
				removed = append(removed, a.Label)
			}
			slices.Sort(removed)
			if want := []string{"idle", "wrote"}; !slices.Equal(removed, want) {
				t.Fatalf("removed %v, want %v", removed, want)
			}
			reasons := map[string]string{}
			for _, k := range out.Kept {
				reasons[k.ActorID] = k.Reason
			}
			for _, want := range []struct{ id, reason string }{
				{def.id, "the repository default"},
				{locker.id, "holds a live lock or claim"},
				{keyed.ActorID, "has a signing key (its public key verifies its events)"},
				{open.id, "in use by a running session"},
				{recent.id, "active since the cutoff"},
			} {
				if reasons[want.id] != want.reason {
					t.Errorf("actor %s kept for %q, want %q", want.id, reasons[want.id], want.reason)
				}
			}
			_, statErr := os.Stat(wrote.s.Actor.DataDir)
			if gone := errors.Is(statErr, os.ErrNotExist); gone == dryRun {
				t.Fatalf("data dir of a removed actor: gone %v in a dry run %v (%v)", gone, dryRun, statErr)
			}
			list, err := tools.ActorList.Call(ctx, def.s, tools.NoInput{})
			if err != nil {
				t.Fatal(err)
			}
			if want := 7 - len(out.Removed)*boolInt(!dryRun); len(list.Actors) != want {
				t.Fatalf("%d actors listed after gc, want %d", len(list.Actors), want)
			}
			// The removed actor's issue is still there, by its author.
			show, err := tools.IssueShow.Call(ctx, def.s, tools.IssueShowInput{ID: id})
			if err != nil || show.Issue.CreatedBy != wrote.id {
				t.Fatalf("issue of a removed actor: %+v, %v", show.Issue, err)
			}
			// And the removed actor cannot be selected any more.
			if _, _, err := actor.Dir(wrote.s.Grite).Resolve(actor.Selection{ActorID: wrote.id}, r.clock.Now()); (err == nil) == !dryRun {
				t.Fatalf("select the removed actor: %v (dry run %v)", err, dryRun)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
