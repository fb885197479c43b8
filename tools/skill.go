package tools

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"grite/prompts"
)

// InstallSkillInput is `grite install-skill`.
type InstallSkillInput struct {
	// Global writes under the user's home instead of the repository.
	Global bool `json:"global,omitempty"`
	// Force overwrites an existing skill file.
	Force bool `json:"force,omitempty"`
}

// InstallSkillOutput says where the skill went and whether it was
// "created" or "updated" (the original's keys).
type InstallSkillOutput struct {
	Path   string `json:"path"`
	Action string `json:"action"`
}

// skillPath is where agent harnesses read a skill named grite: a
// directory per skill holding SKILL.md, under .claude/skills of the
// project or of the user's home.
var skillPath = filepath.Join(".claude", "skills", "grite", "SKILL.md")

// InstallSkill writes the grite skill file for agent harnesses.
var InstallSkill = Op[InstallSkillInput, InstallSkillOutput]{
	Name: "install_skill", Title: "Install the agent skill", Idempotent: true,
	Description: "Write the grite skill (the CLI and MCP workflow) where agent harnesses read skills: the repository's .claude/skills, or the user's with global.",
	Run: func(ctx context.Context, s *Session, in InstallSkillInput) (InstallSkillOutput, error) {
		var root string
		if in.Global {
			home, err := os.UserHomeDir()
			if err != nil {
				return InstallSkillOutput{}, newErr(CodeIO, "no home directory to install the skill in: %v", err).
					suggest("Set HOME, or install it in this repository without --global")
			}
			root = home
		} else {
			if s.Repo.WorkTree == "" {
				return InstallSkillOutput{}, newErr(CodeInvalidArgs, "a bare repository has no working tree to install the skill in").
					suggest("Run it in a clone with a working tree, or use --global")
			}
			root = s.Repo.WorkTree
		}
		path := filepath.Join(root, skillPath)
		out := InstallSkillOutput{Path: path, Action: "created"}
		switch _, err := os.Lstat(path); {
		case err == nil && !in.Force:
			return InstallSkillOutput{}, newErr(CodeConflict, "a skill is already installed at %s", path).
				with("path", path).suggest("Pass --force to overwrite it with this version's skill")
		case err == nil:
			out.Action = "updated"
		case !errors.Is(err, os.ErrNotExist):
			return InstallSkillOutput{}, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return InstallSkillOutput{}, err
		}
		// Through a temporary file and a rename: a skill file is never
		// left half written.
		tmp, err := writeTempFile(filepath.Dir(path), ".SKILL-*.md", []byte(prompts.Skill))
		if err != nil {
			return InstallSkillOutput{}, err
		}
		if err := os.Rename(tmp, path); err != nil {
			_ = os.Remove(tmp)
			return InstallSkillOutput{}, err
		}
		return out, nil
	},
}

// writeTempFile writes b to a new file matching pattern in dir and
// returns its path.
func writeTempFile(dir, pattern string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
