package tools

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"grite/codeindex"
	"grite/event"
	"grite/gitdir"
	"grite/store"
)

// MaxIndexFileBytes is the largest file an index reads; a larger one is
// left out (and its record, if any, kept), reported as too large.
const MaxIndexFileBytes = 2 << 20

// ContextIndexInput says what to index.
type ContextIndexInput struct {
	// Paths are git pathspecs (files, directories, globs) relative to
	// Dir; none: every tracked file.
	Paths []string `json:"paths,omitempty"`
	// Pattern keeps the files whose path from the top of the working
	// tree matches this glob (codeindex.Pattern).
	Pattern string `json:"pattern,omitempty"`
	// Force indexes files whose content is unchanged too.
	Force bool `json:"force,omitempty"`
	// Dir is the directory Paths are relative to (the CLI's working
	// directory); empty: the top of the working tree.
	Dir string `json:"-"`
	// Progress, when set, is told how many of the listed files have been
	// looked at, from the goroutine that called Run.
	Progress func(done, total int) `json:"-"`
}

// IndexProblem is a file an index left out for a reason other than being
// unchanged or of a language it does not know.
type IndexProblem struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// ContextIndexOutput reports an index: the original's {indexed, skipped,
// total_files}, then what the skipped files were and what was deleted.
type ContextIndexOutput struct {
	Indexed int `json:"indexed"`
	// Skipped counts the listed files not indexed: unchanged, of an
	// unknown language, missing from the working tree, or a problem.
	Skipped    int `json:"skipped"`
	TotalFiles int `json:"total_files"`
	Unchanged  int `json:"unchanged"`
	// Unsupported counts files of a language no extractor knows.
	Unsupported int `json:"unsupported"`
	// Deleted are the files this index recorded as deleted: stored, in
	// what was asked to be indexed, and gone from git or from the
	// working tree.
	Deleted  []string       `json:"deleted"`
	Problems []IndexProblem `json:"problems"`
	// Events is the number of events written (one per indexed or
	// deleted file), in Commits WAL commits.
	Events  int    `json:"events"`
	Commits int    `json:"commits"`
	WALHead string `json:"wal_head"`
}

var ContextIndex = Op[ContextIndexInput, ContextIndexOutput]{
	Name: "context_index", Title: "Index files", Idempotent: true,
	Description: "Index the files git tracks: language, symbols and summary of each changed file, as one event each.",
	Run: func(ctx context.Context, s *Session, in ContextIndexInput) (ContextIndexOutput, error) {
		out := ContextIndexOutput{Deleted: []string{}, Problems: []IndexProblem{}}
		if s.Repo.WorkTree == "" {
			return out, newErr(CodeInvalidArgs, "a bare repository has no files to index")
		}
		var pattern *codeindex.Pattern
		if in.Pattern != "" {
			var err error
			if pattern, err = codeindex.CompilePattern(in.Pattern); err != nil {
				return out, newErr(CodeInvalidArgs, "--pattern: %v", err)
			}
		}
		states, err := s.Store().FileStates(ctx)
		if err != nil {
			return out, err
		}
		sc, err := s.scopeOf(in)
		if err != nil {
			return out, err
		}
		files, err := s.listIndexFiles(ctx, in, sc, states)
		if err != nil {
			return out, err
		}
		if pattern != nil {
			files = slices.DeleteFunc(files, func(f string) bool { return !pattern.Match(f) })
		}
		out.TotalFiles = len(files)
		results, err := indexFiles(ctx, s.Repo.WorkTree, files, states, in.Force, in.Progress)
		if err != nil {
			return out, err
		}
		var records []event.ContextUpdated
		listed := make(map[string]bool, len(files))
		for i, r := range results {
			listed[files[i]] = true
			switch {
			case r.record != nil:
				out.Indexed++
				records = append(records, *r.record)
				continue
			case r.unchanged:
				out.Unchanged++
			case r.unsupported:
				out.Unsupported++
			case r.missing:
				st, ok := states[files[i]]
				switch {
				case ok && st.Deleted:
					out.Unchanged++ // recorded as deleted already
				case ok:
					out.Deleted = append(out.Deleted, files[i])
				default:
					out.Problems = append(out.Problems, IndexProblem{files[i], "missing from the working tree (deleted, not yet committed)"})
				}
			default:
				out.Problems = append(out.Problems, IndexProblem{files[i], r.problem})
			}
			out.Skipped++
		}
		// Stored files within what was asked that git no longer lists.
		for path, st := range states {
			if !st.Deleted && !listed[path] && sc.contains(path) && (pattern == nil || pattern.Match(path)) {
				out.Deleted = append(out.Deleted, path)
			}
		}
		slices.Sort(out.Deleted)
		for _, path := range out.Deleted {
			records = append(records, event.ContextUpdated{Path: path, Symbols: []event.Symbol{}})
		}
		return s.writeRecords(ctx, records, states, out)
	},
}

// writeRecords appends a ContextUpdated per record, each after the record
// it replaces, in as few WAL commits as the bulk path's limits allow
// (appendGroups).
func (s *Session) writeRecords(ctx context.Context, records []event.ContextUpdated, states map[string]store.FileState, out ContextIndexOutput) (ContextIndexOutput, error) {
	now := s.nowMS()
	groups := make([][]event.Event, 0, len(records))
	for _, r := range records {
		ts := now
		if st, ok := states[r.Path]; ok && st.TS >= ts {
			ts = st.TS + 1
		}
		groups = append(groups, []event.Event{{IssueID: event.FileContextIssueID(r.Path), Actor: s.Actor.ID, TS: ts, Kind: r}})
	}
	done, commits, err := s.appendGroups(ctx, groups)
	out.Events += done
	out.Commits += commits
	if err != nil {
		return out, err
	}
	head, err := s.WAL.Head()
	if err != nil {
		return out, err
	}
	out.WALHead = hashOrEmpty(head)
	return out, nil
}

// fileResult is what the index made of one listed file: a record to
// write, or why there is none.
type fileResult struct {
	record      *event.ContextUpdated
	unchanged   bool
	unsupported bool
	missing     bool
	problem     string
}

// indexFiles looks at every file on as many goroutines as there are
// processors, each with its own parser; results are in files' order.
func indexFiles(ctx context.Context, top string, files []string, states map[string]store.FileState, force bool, progress func(done, total int)) ([]fileResult, error) {
	results := make([]fileResult, len(files))
	if len(files) == 0 {
		return results, nil
	}
	x := codeindex.New()
	jobs := make(chan int)
	finished := make(chan struct{}, len(files))
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := x.NewParser()
			defer p.Close()
			for i := range jobs {
				r, err := indexFile(ctx, p, top, files[i], states, force)
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
				results[i] = r
				finished <- struct{}{}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for done := 1; done <= len(files); done++ {
		select {
		case <-finished:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		if progress != nil {
			progress(done, len(files))
		}
	}
	wg.Wait()
	return results, firstErr
}

// indexFile reads, hashes and (when changed) parses one file. Its error
// is ctx's only: anything wrong with the file is a result.
func indexFile(ctx context.Context, p *codeindex.Parser, top, path string, states map[string]store.FileState, force bool) (fileResult, error) {
	if !utf8.ValidString(path) {
		return fileResult{problem: "the path is not valid UTF-8, which the context store cannot record"}, nil
	}
	if codeindex.DetectLanguage(path) == codeindex.Unknown {
		return fileResult{unsupported: true}, nil
	}
	full := filepath.Join(top, filepath.FromSlash(path))
	fi, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fileResult{missing: true}, nil
	case err != nil:
		return fileResult{problem: fmt.Sprintf("unreadable: %v", err)}, nil
	case !fi.Mode().IsRegular():
		return fileResult{problem: "not a regular file (a symbolic link or a submodule)"}, nil
	case fi.Size() > MaxIndexFileBytes:
		return fileResult{problem: fmt.Sprintf("too large: %d bytes, the limit is %d", fi.Size(), MaxIndexFileBytes)}, nil
	}
	content, err := os.ReadFile(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fileResult{missing: true}, nil
	case err != nil:
		return fileResult{problem: fmt.Sprintf("unreadable: %v", err)}, nil
	case len(content) > MaxIndexFileBytes:
		return fileResult{problem: fmt.Sprintf("too large: %d bytes, the limit is %d", len(content), MaxIndexFileBytes)}, nil
	case bytes.IndexByte(content[:min(len(content), 8000)], 0) >= 0:
		// git's own test for a binary file.
		return fileResult{problem: "binary"}, nil
	}
	if st, ok := states[path]; ok && !force && !st.Deleted && st.ContentHash == sha256.Sum256(content) {
		return fileResult{unchanged: true}, nil
	}
	rec, err := p.Record(ctx, path, content)
	if err != nil {
		return fileResult{}, err
	}
	return fileResult{record: &rec}, nil
}

// indexScope is the part of the repository an index was asked about, in
// which stored files that git no longer lists count as deleted.
type indexScope struct {
	all      bool
	prefixes []string
	globs    []*codeindex.Pattern
	// byPathspec keeps each pathspec's own scope, to tell whether one that
	// git matched no file with still names stored files.
	byPathspec map[string]indexScope
}

// scopeOf reads in.Paths as the scope: no paths, or the top, is the whole
// repository; a path names itself and what is under it; one with
// wildcards is a glob (as git reads a pathspec, '*' crossing '/'). A
// pathspec with magic (":(...)") names no stored file.
func (s *Session) scopeOf(in ContextIndexInput) (indexScope, error) {
	sc := indexScope{all: len(in.Paths) == 0, byPathspec: map[string]indexScope{}}
	for _, p := range in.Paths {
		if p == "" {
			return sc, newErr(CodeInvalidArgs, "--path must not be empty")
		}
		var one indexScope
		if !strings.HasPrefix(p, ":") {
			rel, err := s.repoPath(in.Dir, p)
			if err != nil {
				return sc, err
			}
			switch {
			case rel == ".":
				one.all = true
			case strings.ContainsAny(p, "*?["):
				g, err := codeindex.CompilePattern(rel)
				if err != nil {
					return sc, newErr(CodeInvalidArgs, "--path %q: %v", p, err)
				}
				one.globs = append(one.globs, g)
			default:
				one.prefixes = append(one.prefixes, strings.TrimSuffix(rel, "/"))
			}
		}
		sc.byPathspec[p] = one
		sc.all = sc.all || one.all
		sc.prefixes = append(sc.prefixes, one.prefixes...)
		sc.globs = append(sc.globs, one.globs...)
	}
	return sc, nil
}

func (sc indexScope) contains(path string) bool {
	if sc.all {
		return true
	}
	for _, p := range sc.prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	for _, g := range sc.globs {
		if g.Match(path) {
			return true
		}
	}
	return false
}

// listIndexFiles lists the tracked files the paths name. A path git
// matches no file with is not_found, unless it names stored files, which
// the index then records as deleted.
func (s *Session) listIndexFiles(ctx context.Context, in ContextIndexInput, sc indexScope, states map[string]store.FileState) ([]string, error) {
	pathspecs := in.Paths
	for {
		files, err := s.Repo.TrackedFiles(ctx, in.Dir, pathspecs)
		var unmatched *gitdir.UnmatchedPathspecError
		if !errors.As(err, &unmatched) {
			return uniq(files), err
		}
		var unknown []string
		for _, p := range unmatched.Pathspecs {
			one, ok := sc.byPathspec[p]
			if !ok || !one.namesStored(states) {
				unknown = append(unknown, p)
			}
		}
		if len(unknown) > 0 {
			return nil, newErr(CodeNotFound, "--path %s matches no file tracked by git, and no indexed file", strings.Join(unknown, ", ")).
				with("paths", unknown).suggest("Run 'git ls-files' to see the files git tracks")
		}
		pathspecs = slices.DeleteFunc(slices.Clone(pathspecs), func(p string) bool { return slices.Contains(unmatched.Pathspecs, p) })
		if len(pathspecs) == 0 {
			return nil, nil
		}
	}
}

func (sc indexScope) namesStored(states map[string]store.FileState) bool {
	for path, st := range states {
		if !st.Deleted && sc.contains(path) {
			return true
		}
	}
	return false
}

// uniq drops repeats (git lists a file with a merge conflict once per
// stage), keeping the first.
func uniq(files []string) []string {
	seen := make(map[string]bool, len(files))
	return slices.DeleteFunc(files, func(f string) bool {
		if seen[f] {
			return true
		}
		seen[f] = true
		return false
	})
}
