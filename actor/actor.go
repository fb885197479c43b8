// Package actor manages grite's local identities and configuration files
// under <common-git-dir>/grite/ (docs/format.md §9): the repo config, one data
// directory per actor with its config.toml and optional Ed25519 signing key,
// and actor selection (--data-dir/GRITE_HOME, --actor, repo default, then
// auto-creation under a lock so that concurrent first commands agree). It
// never touches git refs or the working tree.
package actor

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"grite/event"
	"grite/internal/filelock"
	"grite/internal/plainfile"
)

// ErrNotFound reports an unknown actor.
var ErrNotFound = errors.New("actor not found")

// Config is an actor's config.toml; field order is the written key order.
type Config struct {
	ActorID   string `toml:"actor_id"`
	Label     string `toml:"label,omitempty"`
	CreatedTS uint64 `toml:"created_ts,omitempty"`
	PublicKey string `toml:"public_key,omitempty"`
	KeyScheme string `toml:"key_scheme,omitempty"`
}

// Actor is a loaded actor: identity, data directory, optional signing key.
type Actor struct {
	ID      event.ActorID
	Config  Config
	DataDir string
	Key     ed25519.PrivateKey // nil when the actor does not sign
}

// DisplayName is what a claim writes as assignee: the label, else the ID.
func (a *Actor) DisplayName() string {
	if a.Config.Label != "" {
		return a.Config.Label
	}
	return a.ID.String()
}

// PublicKey returns the actor's public key, nil if none is configured.
func (c Config) PublicKeyBytes() ed25519.PublicKey {
	if c.KeyScheme != "" && !strings.EqualFold(c.KeyScheme, "ed25519") {
		return nil
	}
	b, err := hex.DecodeString(c.PublicKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil
	}
	return ed25519.PublicKey(b)
}

// RepoConfig is <grite>/config.toml.
type RepoConfig struct {
	DefaultActor     string          `toml:"default_actor,omitempty"`
	LockPolicy       string          `toml:"lock_policy,omitempty"`
	VerifySignatures string          `toml:"verify_signatures,omitempty"`
	Snapshot         *SnapshotConfig `toml:"snapshot,omitempty"`
	Sync             *SyncConfig     `toml:"sync,omitempty"`
}

// SyncConfig is the [sync] table.
type SyncConfig struct {
	// RetryBudgetSeconds bounds how long a push keeps retrying when
	// concurrent pushers beat it (unset: the built-in default).
	RetryBudgetSeconds *float64 `toml:"retry_budget_seconds,omitempty"`
}

// SnapshotConfig is the [snapshot] table.
type SnapshotConfig struct {
	MaxEvents  uint32 `toml:"max_events,omitempty"`
	MaxAgeDays uint32 `toml:"max_age_days,omitempty"`
}

// Policy is an off/warn/require setting.
type Policy string

const (
	PolicyOff     Policy = "off"
	PolicyWarn    Policy = "warn"
	PolicyRequire Policy = "require"
)

// LockPolicyValue returns the lock policy; unknown values mean warn.
func (c RepoConfig) LockPolicyValue() Policy { return parsePolicy(c.LockPolicy, PolicyWarn) }

// VerifyPolicy returns the signature policy; default off.
func (c RepoConfig) VerifyPolicy() Policy { return parsePolicy(c.VerifySignatures, PolicyOff) }

func parsePolicy(s string, def Policy) Policy {
	switch p := Policy(strings.ToLower(s)); p {
	case PolicyOff, PolicyWarn, PolicyRequire:
		return p
	}
	return def
}

// Dir is grite's local state directory <common-git-dir>/grite.
type Dir string

func (d Dir) configPath() string        { return filepath.Join(string(d), "config.toml") }
func (d Dir) actorsDir() string         { return filepath.Join(string(d), "actors") }
func (d Dir) ActorDir(id string) string { return filepath.Join(d.actorsDir(), id) }

// LoadRepoConfig reads config.toml; a missing file is an empty config.
func (d Dir) LoadRepoConfig() (RepoConfig, error) {
	var c RepoConfig
	b, err := plainfile.ReadFile(d.configPath())
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := decodeTOML(b, &c); err != nil {
		return c, fmt.Errorf("parse %s: %w", d.configPath(), err)
	}
	return c, nil
}

// SaveRepoConfig writes config.toml atomically.
func (d Dir) SaveRepoConfig(c RepoConfig) error {
	return writeTOML(d.configPath(), c, 0o644)
}

// decodeTOML decodes a config file; a leading UTF-8 byte-order mark, which
// some editors write, is skipped (the TOML decoder refuses it).
func decodeTOML(b []byte, v any) error {
	return toml.Unmarshal(bytes.TrimPrefix(b, []byte("\ufeff")), v)
}

func writeTOML(path string, v any, mode os.FileMode) error {
	b, err := toml.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, mode)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Create makes a new actor with a random ID and, if withKey, an Ed25519 key.
func (d Dir) Create(label string, withKey bool, now time.Time) (*Actor, error) {
	var id event.ActorID
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	a := &Actor{ID: id, DataDir: d.ActorDir(id.String()), Config: Config{
		ActorID: id.String(), Label: label, CreatedTS: uint64(now.UnixMilli()),
	}}
	if withKey {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		a.Key = priv
		a.Config.PublicKey = hex.EncodeToString(pub)
		a.Config.KeyScheme = "ed25519"
		if err := writeFileAtomic(filepath.Join(a.DataDir, "signing_key"), []byte(hex.EncodeToString(priv.Seed())), 0o600); err != nil {
			return nil, fmt.Errorf("write signing key: %w", err)
		}
	}
	if err := writeTOML(filepath.Join(a.DataDir, "config.toml"), a.Config, 0o644); err != nil {
		return nil, fmt.Errorf("write actor config: %w", err)
	}
	return a, nil
}

// LoadDataDir loads the actor whose data directory is dir.
func LoadDataDir(dir string) (*Actor, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.toml"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no config.toml in %s", ErrNotFound, dir)
	}
	if err != nil {
		return nil, err
	}
	var c Config
	if err := decodeTOML(b, &c); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "config.toml"), err)
	}
	id, err := event.ParseActorID(c.ActorID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.toml"), err)
	}
	a := &Actor{ID: id, Config: c, DataDir: dir}
	if seed, err := os.ReadFile(filepath.Join(dir, "signing_key")); err == nil {
		s, err := hex.DecodeString(strings.TrimSpace(string(seed)))
		if err != nil || len(s) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s: signing_key is not a 64-hex Ed25519 seed", dir)
		}
		a.Key = ed25519.NewKeyFromSeed(s)
	}
	return a, nil
}

// Load loads an actor of this repo by full ID.
func (d Dir) Load(id string) (*Actor, error) {
	if _, err := event.ParseActorID(id); err != nil {
		return nil, err
	}
	return LoadDataDir(d.ActorDir(strings.ToLower(id)))
}

// DataDirs lists the data directories under the repo's actors directory
// by name alone (no config is read): cheap enough to run when a new actor
// looks for a view to start from, with hundreds of actors.
func (d Dir) DataDirs() ([]string, error) {
	entries, err := os.ReadDir(d.actorsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := event.ParseActorID(e.Name()); err == nil && e.IsDir() {
			out = append(out, d.ActorDir(e.Name()))
		}
	}
	return out, nil
}

// inUseName is the file in an actor's data directory that its sessions
// hold a shared lock on while they run, so that Remove never deletes the
// data of an actor in use.
const inUseName = "in-use.lock"

// Hold marks a's data as in use until release is called (or the process
// ends): Remove leaves it alone meanwhile. It also records the time as the
// actor's last use (LastUsed).
func (a *Actor) Hold() (release func(), err error) {
	path := filepath.Join(a.DataDir, inUseName)
	release, err = filelock.Shared(path)
	if err == nil {
		now := time.Now()
		_ = os.Chtimes(path, now, now) // activity is informational
	}
	return release, err
}

// LastUsed is when a session last held a's data (see Hold).
func (a *Actor) LastUsed() (time.Time, bool) {
	fi, err := os.Stat(filepath.Join(a.DataDir, inUseName))
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

// InUse reports whether a session holds a's data (see Hold).
func (d Dir) InUse(a *Actor) (bool, error) {
	free, err := filelock.TryWith(filepath.Join(a.DataDir, inUseName), func() error { return nil })
	return !free, err
}

// Remove deletes a's data directory (its config, key and view; its events
// stay in the WAL) unless a session holds it; removed is false then.
func (d Dir) Remove(a *Actor) (removed bool, err error) {
	return filelock.TryWith(filepath.Join(a.DataDir, inUseName), func() error {
		return os.RemoveAll(a.DataDir)
	})
}

// List returns every actor of the repo, oldest first (then by ID).
func (d Dir) List() ([]*Actor, error) {
	entries, err := os.ReadDir(d.actorsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Actor
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := event.ParseActorID(e.Name()); err != nil {
			continue
		}
		a, err := LoadDataDir(d.ActorDir(e.Name()))
		if err != nil {
			continue // a half-created actor dir (crash during create) is skipped
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Config.CreatedTS != out[j].Config.CreatedTS {
			return out[i].Config.CreatedTS < out[j].Config.CreatedTS
		}
		return out[i].ID.Compare(out[j].ID) < 0
	})
	return out, nil
}

// PublicKeys maps every local actor with a configured key to it.
func (d Dir) PublicKeys() (map[event.ActorID]ed25519.PublicKey, error) {
	actors, err := d.List()
	if err != nil {
		return nil, err
	}
	keys := map[event.ActorID]ed25519.PublicKey{}
	for _, a := range actors {
		if pk := a.Config.PublicKeyBytes(); pk != nil {
			keys[a.ID] = pk
		}
	}
	return keys, nil
}

// WithLock runs fn holding an exclusive advisory lock on <grite>/<name>.lock.
// The kernel drops the lock if the process dies, so no stale lock remains.
func (d Dir) WithLock(name string, fn func() error) error {
	return filelock.With(filepath.Join(string(d), name+".lock"), fn)
}

// Source says how the current actor was chosen.
type Source string

const (
	SourceEnv         Source = "env"
	SourceFlag        Source = "flag"
	SourceRepoDefault Source = "repo_default"
	SourceAuto        Source = "auto"
)

// Selection are the inputs of actor selection.
type Selection struct {
	DataDir string // --data-dir, else GRITE_HOME
	FromEnv bool   // DataDir came from GRITE_HOME
	ActorID string // --actor
}

// Resolve picks the actor: data dir, then --actor, then the repo default,
// then creates one and makes it the default (under a lock, so concurrent
// first commands agree on one actor).
func (d Dir) Resolve(sel Selection, now time.Time) (*Actor, Source, error) {
	if sel.DataDir != "" {
		a, err := LoadDataDir(sel.DataDir)
		src := SourceFlag
		if sel.FromEnv {
			src = SourceEnv
		}
		return a, src, err
	}
	if sel.ActorID != "" {
		a, err := d.Find(sel.ActorID)
		return a, SourceFlag, err
	}
	if a, err := d.defaultActor(); a != nil || err != nil {
		return a, SourceRepoDefault, err
	}
	var a *Actor
	err := d.WithLock("actor-init", func() error {
		var err error
		if a, err = d.defaultActor(); a != nil || err != nil {
			return err
		}
		if a, err = d.Create("", false, now); err != nil {
			return err
		}
		return d.SetDefault(a.ID.String())
	})
	return a, SourceAuto, err
}

// defaultActor loads the repo default, nil when none is set.
func (d Dir) defaultActor() (*Actor, error) {
	c, err := d.LoadRepoConfig()
	if err != nil || c.DefaultActor == "" {
		return nil, err
	}
	return d.Load(c.DefaultActor)
}

// SetDefault makes id the repo's default actor.
func (d Dir) SetDefault(id string) error {
	return d.WithLock("config", func() error {
		c, err := d.LoadRepoConfig()
		if err != nil {
			return err
		}
		c.DefaultActor = id
		return d.SaveRepoConfig(c)
	})
}

// AmbiguousError is an actor prefix that matches several actors.
type AmbiguousError struct {
	Prefix     string
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("actor prefix %q matches %d actors: %s", e.Prefix, len(e.Candidates), strings.Join(e.Candidates, ", "))
}

// Find names an actor of this repo the ways a person does: its full ID,
// its label (the oldest actor with it), or a unique prefix of its ID.
// None found is ErrNotFound; a prefix of several is *AmbiguousError.
func (d Dir) Find(text string) (*Actor, error) {
	t := strings.TrimSpace(text)
	if _, err := event.ParseActorID(strings.ToLower(t)); err == nil {
		return d.Load(t)
	}
	all, err := d.List()
	if err != nil {
		return nil, err
	}
	var byPrefix []*Actor
	lower := strings.ToLower(t)
	for _, a := range all {
		if a.Config.Label == t && t != "" {
			return a, nil // List is oldest first
		}
		if lower != "" && strings.HasPrefix(a.ID.String(), lower) {
			byPrefix = append(byPrefix, a)
		}
	}
	switch len(byPrefix) {
	case 1:
		return byPrefix[0], nil
	case 0:
		return nil, fmt.Errorf("%w: no actor with ID, label or ID prefix %q", ErrNotFound, t)
	}
	ids := make([]string, len(byPrefix))
	for i, a := range byPrefix {
		ids[i] = a.ID.String()
	}
	return nil, &AmbiguousError{Prefix: t, Candidates: ids}
}

// FindByLabel returns the oldest actor with the label, nil if none.
func (d Dir) FindByLabel(label string) (*Actor, error) {
	all, err := d.List()
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if a.Config.Label == label {
			return a, nil
		}
	}
	return nil, nil
}
