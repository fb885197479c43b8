// Package gitdir owns grite's access to a repository's git storage: it
// locates the common git directory from any working directory (worktrees
// included) and refuses formats grite does not support; it reads objects
// (loose, packed with deltas, borrowed through alternates) and decodes
// commits and trees; it writes loose objects, trees, commits and packs as
// git does, packs grite's loose objects and consolidates grite's packs;
// and it updates refs with git's own lock-file protocol, so grite's
// writes are atomic compare-and-swaps that interoperate with a concurrent
// git (fetch, update-ref, pack-refs, gc). It knows git's formats, not
// grite's: what a WAL commit, a lock or a snapshot holds is for the
// packages above. It never touches the working tree, only ever writes
// refs under refs/grite/, and never removes an object or pack it did not
// write.
package gitdir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/internal/plainfile"
)

// ErrNotARepo is returned when no git repository encloses the start directory.
var ErrNotARepo = errors.New("not a git repository")

// Repo is an opened repository: its directories and its object writer. It
// is not safe for concurrent use: each process or MCP session owns one and
// serializes its calls.
type Repo struct {
	// GitDir is the repository's own git dir (a worktree's private dir for a
	// linked worktree); CommonDir holds objects, refs and grite's local state.
	GitDir    string
	CommonDir string
	// WorkTree is the top of the working tree, empty for a bare repository.
	WorkTree string

	format repoFormat
	objectWriter
}

// Discover finds the repository enclosing dir, the way git does for the
// common cases: a .git directory, a .git file ("gitdir: ..."), or a bare
// repository. GIT_DIR in the environment is honoured. A repository whose
// format grite does not support (a SHA-256 one, reftable refs, an
// extension grite does not know) is refused with a *FormatError before
// anything is written to it: every command opens its repository here.
func Discover(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if env := os.Getenv("GIT_DIR"); env != "" {
		gd := env
		if !filepath.IsAbs(gd) {
			gd = filepath.Join(abs, gd)
		}
		if !isGitDir(gd) {
			return nil, fmt.Errorf("%w: GIT_DIR=%s", ErrNotARepo, env)
		}
		return open(gd, os.Getenv("GIT_WORK_TREE"))
	}
	for d := abs; ; {
		dotgit := filepath.Join(d, ".git")
		if fi, err := os.Stat(dotgit); err == nil {
			if fi.IsDir() && isGitDir(dotgit) {
				return open(dotgit, d)
			}
			if fi.Mode().IsRegular() {
				gd, err := readGitFile(dotgit)
				if err != nil {
					return nil, err
				}
				return open(gd, d)
			}
		}
		if isGitDir(d) { // bare repository
			return open(d, "")
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil, fmt.Errorf("%w (or any parent up to /): %s", ErrNotARepo, abs)
		}
		d = parent
	}
}

func isGitDir(d string) bool {
	if _, err := os.Stat(filepath.Join(d, "HEAD")); err != nil {
		return false
	}
	if _, err := os.Stat(filepath.Join(d, "objects")); err == nil {
		return true
	}
	// A linked worktree's private dir has HEAD and commondir but no objects.
	_, err := os.Stat(filepath.Join(d, "commondir"))
	return err == nil
}

func readGitFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(b))
	rest, ok := strings.CutPrefix(line, "gitdir:")
	if !ok {
		return "", fmt.Errorf("%w: %s is not a gitdir file", ErrNotARepo, path)
	}
	gd := strings.TrimSpace(rest)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(filepath.Dir(path), gd)
	}
	return gd, nil
}

func open(gitDir, workTree string) (*Repo, error) {
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = filepath.Clean(c)
	}
	if _, err := os.Stat(filepath.Join(common, "objects")); err != nil {
		return nil, fmt.Errorf("%w: %s has no objects directory", ErrNotARepo, common)
	}
	format, err := checkFormat(common)
	if err != nil {
		return nil, err
	}
	return &Repo{GitDir: gitDir, CommonDir: common, WorkTree: workTree, format: format}, nil
}

// GriteDir is grite's local (never synced) state directory.
func (r *Repo) GriteDir() string { return filepath.Join(r.CommonDir, "grite") }

// ReadRef returns the commit a ref points to, or the zero hash when the ref
// does not exist. It reads the loose file first, then packed-refs, as git does.
func (r *Repo) ReadRef(name string) (plumbing.Hash, error) {
	h, _, err := r.readRef(name)
	return h, err
}

func (r *Repo) readRef(name string) (plumbing.Hash, bool, error) {
	// Shared: a hot ref's file is rewritten in place (Turn.UpdateHotRef).
	b, err := plainfile.ReadShared(filepath.Join(r.CommonDir, filepath.FromSlash(name)))
	switch {
	case err == nil:
		s := strings.TrimSpace(string(b))
		if len(s) == 40 {
			if h, ok := ParseHash(s); ok {
				return h, true, nil
			}
		}
		if s != "" {
			return plumbing.ZeroHash, false, fmt.Errorf("ref %s holds %q, not an object ID", name, truncate(s, 60))
		}
		// An empty loose file is what a torn non-git writer leaves; git
		// itself treats it as broken. Fall back to packed-refs like git.
	case errors.Is(err, os.ErrNotExist), isNotDir(err):
	default:
		return plumbing.ZeroHash, false, fmt.Errorf("read ref %s: %w", name, err)
	}
	h, ok, err := r.packedRef(name)
	return h, ok, err
}

func isNotDir(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func (r *Repo) packedRef(name string) (plumbing.Hash, bool, error) {
	f, err := plainfile.OpenFile(filepath.Join(r.CommonDir, "packed-refs"), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("read packed-refs: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	suffix := []byte(" " + name)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 41+len(name) && bytes.HasSuffix(line, suffix) {
			if h, ok := ParseHash(line[:40]); ok {
				return h, true, nil
			}
		}
	}
	return plumbing.ZeroHash, false, sc.Err()
}

// ListRefs returns the refs whose names start with prefix (loose and
// packed), loose values winning, as name → hash.
func (r *Repo) ListRefs(prefix string) (map[string]plumbing.Hash, error) {
	out := map[string]plumbing.Hash{}
	if b, err := os.ReadFile(filepath.Join(r.CommonDir, "packed-refs")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if len(line) > 41 && line[40] == ' ' && strings.HasPrefix(line[41:], prefix) {
				if h, ok := ParseHash(line[:40]); ok {
					out[line[41:]] = h
				}
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	root := filepath.Join(r.CommonDir, filepath.FromSlash(prefix))
	base := root
	if !strings.HasSuffix(prefix, "/") {
		base = filepath.Dir(root)
	}
	err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		rel, err := filepath.Rel(r.CommonDir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !strings.HasPrefix(name, prefix) {
			return nil
		}
		h, ok, err := r.readRef(name)
		if err != nil {
			return err
		}
		if ok {
			out[name] = h
		} else {
			delete(out, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list refs %s: %w", prefix, err)
	}
	return out, nil
}

// ParseHash parses a 40-hex object ID strictly: exactly 40 hex digits,
// of either case, as git reads them (in refs, commits, tags and grite's
// meta.json alike).
func ParseHash[T string | []byte](s T) (plumbing.Hash, bool) {
	var h plumbing.Hash
	if len(s) != 2*len(h) {
		return plumbing.ZeroHash, false
	}
	for i := range h {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return plumbing.ZeroHash, false
		}
		h[i] = hi<<4 | lo
	}
	return h, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// At opens the repository at dir itself (a bare repository, or a directory
// holding .git), ignoring GIT_DIR and parent directories: what git does
// with a local path given as a remote's URL.
func At(dir string) (*Repo, error) {
	dotgit := filepath.Join(dir, ".git")
	if fi, err := os.Stat(dotgit); err == nil {
		switch {
		case fi.IsDir() && isGitDir(dotgit):
			return open(dotgit, dir)
		case fi.Mode().IsRegular():
			gd, err := readGitFile(dotgit)
			if err != nil {
				return nil, err
			}
			return open(gd, dir)
		}
	}
	if isGitDir(dir) {
		return open(dir, "")
	}
	return nil, fmt.Errorf("%w: %s", ErrNotARepo, dir)
}

// Alternates returns the object directories that the objects directory
// objects borrows from, as git reads objects/info/alternates: one
// directory per line, a relative one against objects, blank lines and
// lines starting with '#' skipped, and a C-quoted line unquoted. A missing
// or unreadable file is no alternates. It does not follow the alternates'
// own alternates: readers do, to git's depth.
func Alternates(objects string) []string {
	b, err := os.ReadFile(filepath.Join(objects, "info", "alternates"))
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '"' {
			u, err := strconv.Unquote(line)
			if err != nil {
				continue
			}
			line = u
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(objects, line)
		}
		dirs = append(dirs, filepath.Clean(line))
	}
	return dirs
}
