package gitdir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrUnsupportedFormat is what every *FormatError is (errors.Is): the
// repository's format is one grite does not read or write.
var ErrUnsupportedFormat = errors.New("unsupported repository format")

// FormatError says which setting of the repository's config makes its
// format one grite does not support, and what to do instead. Opening
// such a repository fails before anything is written to it.
type FormatError struct {
	Config  string // the config file holding the setting
	Setting string // e.g. extensions.objectformat
	Value   string // e.g. sha256
	What    string // what the repository uses, e.g. "the SHA-256 object format"
	Why     string // why grite does not support it
	Remedy  string // what to do instead
}

func (e *FormatError) Error() string { return e.Summary() + ". " + e.Remedy }

// Summary is the error without the remedy.
func (e *FormatError) Summary() string {
	return fmt.Sprintf("unsupported repository format: this repository uses %s (%s = %s in %s), and %s; grite wrote nothing to it",
		e.What, e.Setting, e.Value, e.Config, e.Why)
}

// Is makes errors.Is(err, ErrUnsupportedFormat) hold.
func (e *FormatError) Is(target error) bool { return target == ErrUnsupportedFormat }

// repoFormat is what the repository's config says about its format:
// the settings grite follows besides refusing the ones it does not
// support.
type repoFormat struct {
	// precious: extensions.preciousObjects; git never deletes objects.
	precious bool
	// promisor names the promisor remote of a partial clone
	// (extensions.partialClone, or a remote.<name>.promisor): objects
	// may be missing locally, for git to fetch from there.
	promisor string
}

// PreciousObjects reports whether the repository sets
// extensions.preciousObjects: its objects (loose or packed) must never be
// deleted, so nothing of grite's may remove one (pack consolidation
// leaves such a repository alone).
func (r *Repo) PreciousObjects() bool { return r.format.precious }

// Promisor reports whether the repository is a partial clone
// (extensions.partialClone, or a remote with remote.<name>.promisor):
// git may have left objects out of what it fetched, to be fetched when
// needed. grite reads objects itself, so it fetches them first.
func (r *Repo) Promisor() bool { return r.format.promisor != "" }

// PromisorRemote is the remote a partial clone fetches missing objects
// from, "" when the repository is not one.
func (r *Repo) PromisorRemote() string { return r.format.promisor }

// v1Extensions are the extensions of repository format version 1 that
// grite follows (and extensions.objectFormat and extensions.refStorage
// with their default values). git itself refuses a version 1 repository
// with an extension it does not know; so does grite, which writes objects
// and refs without git and cannot know what an unknown one changes.
var v1Extensions = map[string]bool{
	"noop":              true,
	"noop-v1":           true,
	"preciousobjects":   true, // followed: see PreciousObjects
	"partialclone":      true, // followed: see Promisor
	"worktreeconfig":    true, // config.worktree files: nothing grite reads
	"relativeworktrees": true, // worktree links by relative path: read as such
}

// checkFormat reads the format settings of the repository whose common
// directory is commonDir from its config file, the one file git reads
// them from (includes are not followed for them), and refuses what grite
// does not support: a repository format version above 1, an object
// format other than SHA-1 (grite names and writes objects with SHA-1, as
// the original grite's format on git does), a ref storage other than
// files (grite writes loose refs with git's lock protocol), and any other
// extension it does not know.
func checkFormat(commonDir string) (repoFormat, error) {
	path := filepath.Join(commonDir, "config")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return repoFormat{}, nil // git reads no config as version 0
	}
	if err != nil {
		return repoFormat{}, fmt.Errorf("read the repository's format from %s: %w", path, err)
	}
	entries, ok := scanConfig(b)
	if !ok {
		// A form the small reader does not follow: ask git.
		if entries, err = gitConfigList(path); err != nil {
			return repoFormat{}, err
		}
	}
	var f repoFormat
	version := 0
	var extensions [][2]string // key (without "extensions."), value
	for _, e := range entries {
		key, value := e[0], e[1]
		switch {
		case key == "core.repositoryformatversion":
			if v, err := strconv.Atoi(strings.TrimSpace(value)); err == nil {
				version = v
			} else {
				return f, &FormatError{Config: path, Setting: "core.repositoryformatversion", Value: value,
					What: "a repository format version that is not a number", Why: "git itself refuses it",
					Remedy: "Fix the repository's config."}
			}
		case strings.HasPrefix(key, "extensions."):
			extensions = append(extensions, [2]string{strings.TrimPrefix(key, "extensions."), value})
		case strings.HasPrefix(key, "remote.") && strings.HasSuffix(key, ".promisor"):
			if configBool(value) && f.promisor == "" {
				f.promisor = strings.TrimSuffix(strings.TrimPrefix(key, "remote."), ".promisor")
			}
		}
	}
	if version > 1 {
		return f, &FormatError{Config: path, Setting: "core.repositoryformatversion", Value: strconv.Itoa(version),
			What: "repository format version " + strconv.Itoa(version), Why: "grite knows versions 0 and 1 only",
			Remedy: "Use grite in a repository of format version 0 or 1."}
	}
	for _, x := range extensions {
		name, value := x[0], x[1]
		switch name {
		case "objectformat":
			if !strings.EqualFold(value, "sha1") {
				return f, &FormatError{Config: path, Setting: "extensions.objectformat", Value: value,
					What: "the " + hashName(value) + " object format", Why: "grite reads and writes SHA-1 objects and refs only (the format of its issue history, shared by every clone)",
					Remedy: "Use grite in a SHA-1 repository: one made by 'git init' or 'git clone' with the default object format (or 'git init --object-format=sha1')."}
			}
		case "refstorage":
			if !strings.EqualFold(value, "files") {
				return f, &FormatError{Config: path, Setting: "extensions.refstorage", Value: value,
					What: "the " + value + " ref storage", Why: "grite writes refs as loose files with git's lock protocol (the \"files\" ref storage) only",
					Remedy: "Use grite in a repository with the files ref storage: 'git init --ref-format=files', or convert this one with 'git refs migrate --ref-format=files' (git 2.46 or later)."}
			}
		case "compatobjectformat":
			return f, &FormatError{Config: path, Setting: "extensions.compatobjectformat", Value: value,
				What: "a compatibility object format (a second, " + hashName(value) + " name for every object)", Why: "grite writes objects without one",
				Remedy: "Use grite in a repository without extensions.compatObjectFormat."}
		case "preciousobjects":
			f.precious = configBool(value)
		case "partialclone":
			if value != "" {
				f.promisor = value
			}
		default:
			// git follows only a few extensions in a version 0
			// repository and ignores the others; so does grite.
			if version >= 1 && !v1Extensions[name] {
				return f, &FormatError{Config: path, Setting: "extensions." + name, Value: value,
					What: "the git extension extensions." + name, Why: "grite does not know it (it may change how objects or refs are stored)",
					Remedy: "Use grite in a repository without this extension."}
			}
		}
	}
	return f, nil
}

// hashName is a hash algorithm's usual name: SHA-256 for sha256.
func hashName(v string) string {
	switch strings.ToLower(v) {
	case "sha256":
		return "SHA-256"
	case "sha1":
		return "SHA-1"
	}
	return v
}

// configBool reads a git boolean as git_config_bool does: a key with no
// value is true, then true/yes/on and a non-zero number.
func configBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off", "":
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return err == nil && n != 0
}

// scanConfig returns a config file's entries (section.[sub.]key lowercased
// except the subsection, and the value) in order; ok is false when the
// file holds a form it does not follow (a continued line, a key on a
// section's line, a malformed line), for the caller to ask git.
func scanConfig(b []byte) (entries [][2]string, ok bool) {
	var section, sub string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			var good bool
			if section, sub, good = parseSectionHeader(line); !good {
				return nil, false
			}
			continue
		}
		key, value, good := parseConfigLine(line)
		if !good || section == "" {
			return nil, false
		}
		full := section + "." + key
		if sub != "" {
			full = section + "." + sub + "." + key
		}
		entries = append(entries, [2]string{full, value})
	}
	return entries, sc.Err() == nil
}

// gitConfigList is every entry of the config file path, as git reads it.
func gitConfigList(path string) ([][2]string, error) {
	cmd := exec.Command("git", "config", "--file", path, "--null", "--list")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("read the repository's format from %s: git config: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	var entries [][2]string
	for _, rec := range strings.Split(string(out), "\x00") {
		if rec == "" {
			continue
		}
		key, value, hasValue := strings.Cut(rec, "\n")
		if !hasValue {
			value = "true" // a bare key, which git reads as true
		}
		// git prints the section and key lowercased already; the
		// subsection keeps its case.
		entries = append(entries, [2]string{key, value})
	}
	return entries, nil
}
