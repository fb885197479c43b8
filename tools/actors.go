package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
func Init(ctx context.Context, s *Session, in InitInput) (InitOutput, error) {
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
	defer f.Close()
	_, err = f.WriteString(sep + prompts.AgentsSection)
	return "appended", err
}

// ActorInitInput is `grite actor init`.
type ActorInitInput struct {
	Label       string
	GenerateKey bool
	MakeDefault bool
}

// ActorInit creates a new actor (the default only if asked or none is set).
func ActorInit(ctx context.Context, s *Session, in ActorInitInput) (ActorInfo, error) {
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
}

// ActorListOutput lists actors.
type ActorListOutput struct {
	Actors []ActorInfo `json:"actors"`
}

// ActorList lists the repository's actors, oldest first.
func ActorList(ctx context.Context, s *Session) (ActorListOutput, error) {
	all, err := s.Grite.List()
	if err != nil {
		return ActorListOutput{}, err
	}
	c, err := s.Grite.LoadRepoConfig()
	if err != nil {
		return ActorListOutput{}, err
	}
	out := ActorListOutput{Actors: []ActorInfo{}}
	for _, a := range all {
		info := actorInfo(a)
		info.Default = info.ActorID == c.DefaultActor
		out.Actors = append(out.Actors, info)
	}
	return out, nil
}

// ActorShow shows one actor (the current one when id is empty).
func ActorShow(ctx context.Context, s *Session, id string) (ActorInfo, error) {
	if id == "" {
		return ActorCurrent(ctx, s)
	}
	a, err := s.Grite.Find(id)
	if err != nil {
		return ActorInfo{}, err
	}
	return actorInfo(a), nil
}

// ActorCurrent reports the session's actor and how it was chosen.
func ActorCurrent(ctx context.Context, s *Session) (ActorInfo, error) {
	info := actorInfo(s.Actor)
	info.Source = string(s.ActorSource)
	return info, nil
}

// ActorUse makes an existing actor the repo default.
func ActorUse(ctx context.Context, s *Session, id string) (ActorInfo, error) {
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
}
