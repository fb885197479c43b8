package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"grite/actor"
	"grite/prompts"
)

// ActorInfo describes an actor.
type ActorInfo struct {
	ActorID   string `json:"actor_id"`
	Label     string `json:"label"`
	DataDir   string `json:"data_dir"`
	PublicKey string `json:"public_key"`
	CreatedTS uint64 `json:"created_ts,omitempty"`
	Source    string `json:"source,omitempty"`
	Default   bool   `json:"default,omitempty"`
	// LastEventTS is when the actor last wrote an event this clone has
	// (0: none); LastActiveTS is the latest of that, its last use of its
	// view and its creation (listings only).
	LastEventTS  uint64 `json:"last_event_ts,omitempty"`
	LastActiveTS uint64 `json:"last_active_ts,omitempty"`
}

func actorInfo(a *actor.Actor) ActorInfo {
	return ActorInfo{ActorID: a.ID.String(), Label: a.Config.Label, DataDir: a.DataDir, PublicKey: a.Config.PublicKey, CreatedTS: a.Config.CreatedTS}
}

// InitInput is `grite init`.
type InitInput struct {
	NoAgentsMD  bool
	Label       string
	GenerateKey bool
}

// InitOutput says what init did.
type InitOutput struct {
	ActorID  string `json:"actor_id"`
	DataDir  string `json:"data_dir"`
	Created  bool   `json:"created"`
	AgentsMD string `json:"agents_md"` // created | appended | unchanged | skipped
	GriteDir string `json:"grite_dir"`
	// Message says what init found and did, or left as it was.
	Message string `json:"message"`
}

// Init creates an actor and makes it the repo default (keeping an existing
// default), and adds the Grite section to AGENTS.md once.
var Init = Op[InitInput, InitOutput]{
	Name: "init", Title: "Set up grite", Idempotent: true,
	Description: "Set up grite in this repository: the default actor and, unless told not to, the Grite section of AGENTS.md.",
	Run: func(ctx context.Context, s *Session, in InitInput) (InitOutput, error) {
		out := InitOutput{GriteDir: string(s.Grite), AgentsMD: "skipped"}
		if in.Label != "" {
			if err := checkName("label", in.Label); err != nil {
				return out, err
			}
		}
		var a *actor.Actor
		err := s.Grite.WithLock("actor-init", func() error {
			c, err := s.Grite.LoadRepoConfig()
			if err != nil {
				return err
			}
			if c.DefaultActor != "" {
				if a, err = s.Grite.Load(c.DefaultActor); err == nil {
					if in.Label != "" || in.GenerateKey {
						// The options describe the actor init would create;
						// dropping them silently would leave the caller
						// believing the default actor has them.
						return existingActorErr(a, in)
					}
					return nil
				}
			}
			if a, err = s.Grite.Create(in.Label, in.GenerateKey, s.Now()); err != nil {
				return err
			}
			out.Created = true
			return s.Grite.SetDefault(a.ID.String())
		})
		if err != nil {
			return out, err
		}
		out.ActorID, out.DataDir = a.ID.String(), a.DataDir
		if !in.NoAgentsMD && s.Repo.WorkTree != "" {
			out.AgentsMD, err = writeAgentsMD(filepath.Join(s.Repo.WorkTree, "AGENTS.md"))
		}
		out.Message = initMessage(a, out)
		return out, err
	},
}

// describeActor names an actor with its label and age, so that a caller
// who never ran init can tell where it came from.
func describeActor(a *actor.Actor) string {
	d := "actor " + a.ID.String()
	if a.Config.Label != "" {
		d += fmt.Sprintf(" (label %q)", a.Config.Label)
	}
	if a.Config.CreatedTS != 0 {
		d += ", created " + time.UnixMilli(int64(a.Config.CreatedTS)).UTC().Format("2006-01-02 15:04 UTC")
	}
	return d
}

func initMessage(a *actor.Actor, out InitOutput) string {
	msg := "initialized grite: " + describeActor(a) + " is the default"
	if !out.Created {
		// Any grite command sets up a default actor when there is none,
		// so init usually finds one: what it would have done is done.
		msg = "grite was already initialized: the default is " + describeActor(a) +
			" (any grite command creates one when none exists); no actor created"
	}
	switch out.AgentsMD {
	case "created", "appended":
		msg += "; AGENTS.md " + out.AgentsMD
	case "unchanged":
		msg += "; AGENTS.md already has the Grite section"
	}
	return msg
}

func existingActorErr(a *actor.Actor, in InitInput) error {
	var opts []string
	if in.Label != "" {
		opts = append(opts, "--label "+in.Label)
	}
	if in.GenerateKey {
		opts = append(opts, "--generate-key")
	}
	return newErr(CodeInvalidArgs, "grite is already initialized (the default is %s): %s would apply only to a new actor, and init creates none",
		describeActor(a), strings.Join(opts, " ")).
		with("actor_id", a.ID.String()).
		suggest("Create another actor and make it the default: grite actor init "+strings.Join(opts, " ")+" --default",
			"Run 'grite init' without those options to keep the current default")
}

func writeAgentsMD(path string) (string, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "created", os.WriteFile(path, []byte(prompts.AgentsSection), 0o644)
	case err != nil:
		return "", err
	case strings.Contains(string(b), "\n## Grite\n") || strings.HasPrefix(string(b), "## Grite\n"):
		return "unchanged", nil
	}
	sep := "\n"
	if len(b) > 0 && !strings.HasSuffix(string(b), "\n") {
		sep = "\n\n"
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(sep + prompts.AgentsSection)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return "appended", err
}

// ActorInitInput is `grite actor init`.
type ActorInitInput struct {
	Label       string
	GenerateKey bool
	MakeDefault bool
}

// ActorInit creates a new actor (the default only if asked or none is set).
var ActorInit = Op[ActorInitInput, ActorInfo]{
	Name: "actor_init", Title: "Create an actor",
	Description: "Create an actor, optionally with a signing key and as the repository default.",
	Run: func(ctx context.Context, s *Session, in ActorInitInput) (ActorInfo, error) {
		if in.Label != "" {
			if err := checkName("label", in.Label); err != nil {
				return ActorInfo{}, err
			}
		}
		var a *actor.Actor
		err := s.Grite.WithLock("actor-init", func() error {
			var err error
			if a, err = s.Grite.Create(in.Label, in.GenerateKey, s.Now()); err != nil {
				return err
			}
			c, err := s.Grite.LoadRepoConfig()
			if err != nil {
				return err
			}
			if in.MakeDefault || c.DefaultActor == "" {
				return s.Grite.SetDefault(a.ID.String())
			}
			return nil
		})
		if err != nil {
			return ActorInfo{}, err
		}
		return actorInfo(a), nil
	},
}

// ActorListOutput lists actors.
type ActorListOutput struct {
	Actors []ActorInfo `json:"actors"`
}

// ActorList lists the repository's actors, oldest first, with their last
// activity.
var ActorList = Op[NoInput, ActorListOutput]{
	Name: "actor_list", Title: "List actors", ReadOnly: true, Idempotent: true,
	Description: "List the actors of this clone with their last activity.",
	Run: func(ctx context.Context, s *Session, in NoInput) (ActorListOutput, error) {
		all, err := s.Grite.List()
		if err != nil {
			return ActorListOutput{}, err
		}
		c, err := s.Grite.LoadRepoConfig()
		if err != nil {
			return ActorListOutput{}, err
		}
		last, err := s.Store().LastEventByActor(ctx)
		if err != nil {
			return ActorListOutput{}, err
		}
		out := ActorListOutput{Actors: []ActorInfo{}}
		for _, a := range all {
			info := activeInfo(a, last)
			info.Default = info.ActorID == c.DefaultActor
			out.Actors = append(out.Actors, info)
		}
		return out, nil
	},
}

// activeInfo is a's info with its last activity: its last event, the
// last session that used it or its creation, whichever is latest.
func activeInfo(a *actor.Actor, lastEvent map[string]uint64) ActorInfo {
	info := actorInfo(a)
	info.LastEventTS = lastEvent[info.ActorID]
	info.LastActiveTS = max(info.CreatedTS, info.LastEventTS)
	if t, ok := a.LastUsed(); ok {
		info.LastActiveTS = max(info.LastActiveTS, uint64(t.UnixMilli()))
	}
	return info
}

// ActorGCInput is `grite actor gc`.
type ActorGCInput struct {
	OlderThan time.Duration
	DryRun    bool
}

// DefaultActorGCAge is how long an actor must have been idle for
// `actor gc` to remove it when not told otherwise.
const DefaultActorGCAge = 30 * 24 * time.Hour

// ParseAge reads an age such as "30d", "12h" or "90m" (Go durations, plus
// days).
func ParseAge(text string) (time.Duration, error) {
	t := strings.TrimSpace(text)
	if days, ok := strings.CutSuffix(t, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n > 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	} else if d, err := time.ParseDuration(t); err == nil && d > 0 {
		return d, nil
	}
	return 0, newErr(CodeInvalidArgs, "age %q is not a positive duration such as 30d, 12h or 90m", text)
}

// ActorGCOutput says what gc removed and what it kept, and why.
type ActorGCOutput struct {
	Removed []ActorInfo `json:"removed"`
	Kept    []KeptActor `json:"kept"`
	DryRun  bool        `json:"dry_run"`
	Cutoff  uint64      `json:"cutoff_ts"`
}

// KeptActor is an actor gc left in place, with the reason.
type KeptActor struct {
	ActorInfo
	Reason string `json:"reason"`
}

// ActorGC removes the local data (config, view) of actors idle since
// before now - OlderThan: every unlabelled MCP session is an actor, and an
// orchestrator starting hundreds of them would otherwise fill the actors
// directory for ever. Their events stay in the WAL. It keeps the default
// actor, actors holding a live lock or claim, actors with a signing key
// (their public key is what verifies their events here) and actors a
// running session uses (actor.Actor.Hold).
var ActorGC = Op[ActorGCInput, ActorGCOutput]{
	Name: "actor_gc", Title: "Remove idle actors", Idempotent: true,
	Description: "Remove the local data of actors idle for longer than a given age (their events stay).",
	Run: func(ctx context.Context, s *Session, in ActorGCInput) (ActorGCOutput, error) {
		if in.OlderThan <= 0 {
			in.OlderThan = DefaultActorGCAge
		}
		out := ActorGCOutput{Removed: []ActorInfo{}, Kept: []KeptActor{}, DryRun: in.DryRun,
			Cutoff: uint64(s.Now().Add(-in.OlderThan).UnixMilli())}
		all, err := s.Grite.List()
		if err != nil {
			return out, err
		}
		c, err := s.Grite.LoadRepoConfig()
		if err != nil {
			return out, err
		}
		last, err := s.Store().LastEventByActor(ctx)
		if err != nil {
			return out, err
		}
		locks, err := s.Locks.List()
		if err != nil {
			return out, err
		}
		holding := map[string]bool{}
		for _, e := range locks {
			if e.Lock.Live(s.nowMS()) {
				holding[e.Lock.Owner] = true
			}
		}
		for _, a := range all {
			info := activeInfo(a, last)
			reason := ""
			switch {
			case info.ActorID == c.DefaultActor:
				reason = "the repository default"
			case info.ActorID == s.Actor.ID.String():
				reason = "this session's actor"
			case info.LastActiveTS >= out.Cutoff:
				reason = "active since the cutoff"
			case holding[info.ActorID]:
				reason = "holds a live lock or claim"
			case a.Config.PublicKey != "":
				reason = "has a signing key (its public key verifies its events)"
			}
			if reason == "" {
				gone := false
				if in.DryRun {
					busy, err := s.Grite.InUse(a)
					gone = !busy && err == nil
				} else if gone, err = s.Grite.Remove(a); err != nil {
					return out, err
				}
				if !gone {
					reason = "in use by a running session"
				}
			}
			if reason != "" {
				out.Kept = append(out.Kept, KeptActor{info, reason})
				continue
			}
			out.Removed = append(out.Removed, info)
		}
		return out, nil
	},
}

// ActorIDInput names an actor (32 hex characters).
type ActorIDInput struct {
	ID string `json:"id"`
}

// ActorShow shows one actor (the current one when id is empty).
var ActorShow = Op[ActorIDInput, ActorInfo]{
	Name: "actor_show", Title: "Show an actor", ReadOnly: true, Idempotent: true,
	Description: "Show an actor of this clone.",
	Run: func(ctx context.Context, s *Session, in ActorIDInput) (ActorInfo, error) {
		id := in.ID
		if id == "" {
			return ActorCurrent.Run(ctx, s, NoInput{})
		}
		a, err := s.Grite.Find(id)
		if err != nil {
			return ActorInfo{}, err
		}
		return actorInfo(a), nil
	},
}

// ActorCurrent reports the session's actor and how it was chosen.
var ActorCurrent = Op[NoInput, ActorInfo]{
	Name: "actor_current", Title: "Current actor", ReadOnly: true, Idempotent: true,
	Description: "Show the actor commands act as.",
	Run: func(ctx context.Context, s *Session, in NoInput) (ActorInfo, error) {
		info := actorInfo(s.Actor)
		info.Source = string(s.ActorSource)
		return info, nil
	},
}

// ActorUse makes an existing actor the repo default.
var ActorUse = Op[ActorIDInput, ActorInfo]{
	Name: "actor_use", Title: "Set the default actor", Idempotent: true,
	Description: "Make an actor the repository default.",
	Run: func(ctx context.Context, s *Session, in ActorIDInput) (ActorInfo, error) {
		id := in.ID
		a, err := s.Grite.Find(id)
		if err != nil {
			return ActorInfo{}, err
		}
		if err := s.Grite.SetDefault(a.ID.String()); err != nil {
			return ActorInfo{}, err
		}
		info := actorInfo(a)
		info.Default = true
		return info, nil
	},
}
