package gitdir

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"grite/internal/plainfile"
)

// looseCountName is the file in grite's directory that grows by one byte
// per loose object grite writes, and is emptied when they are packed: the
// packing's trigger costs one append per object and one stat per command,
// where counting the objects would list the object directories.
const looseCountName = "loose-objects"

// noteLoose counts one new loose object. Best effort: a count that could
// not be written only delays the packing.
func (r *Repo) noteLoose() {
	if r.looseLog == nil {
		f, err := r.openAppend(looseCountName)
		if err != nil {
			return
		}
		r.looseLog = f
	}
	_, _ = r.looseLog.Write([]byte{'.'})
}

// LooseCount is how many loose objects grite wrote since they were last
// packed (an estimate: objects another writer stored first count too).
func (r *Repo) LooseCount() int {
	fi, err := os.Stat(filepath.Join(r.GriteDir(), looseCountName))
	if err != nil {
		return 0
	}
	return int(fi.Size())
}

// LooseWritten is when grite last wrote a loose object, in any process
// (the count's change time; zero when nothing is counted).
func (r *Repo) LooseWritten() time.Time {
	fi, err := os.Stat(filepath.Join(r.GriteDir(), looseCountName))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// ResetLooseCount empties the count; the packer calls it before it looks
// for loose objects, so that objects written meanwhile count for the next
// packing.
func (r *Repo) ResetLooseCount() error {
	err := os.Truncate(filepath.Join(r.GriteDir(), looseCountName), 0)
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// packListName is the file in grite's directory listing the packs grite
// wrote, one name a line: grite merges and removes only those, never a
// pack git or the user made.
const packListName = "packs"

// recordPack adds a pack grite wrote to the list. Best effort: a pack
// left off the list is only never merged.
func (r *Repo) recordPack(name string) {
	f, err := r.openAppend(packListName)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write([]byte(name + "\n"))
}

// GritePacks returns the names of the packs grite wrote ("pack-<hex>").
func (r *Repo) GritePacks() map[string]bool {
	b, err := os.ReadFile(filepath.Join(r.GriteDir(), packListName))
	out := map[string]bool{}
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "pack-") {
			out[l] = true
		}
	}
	return out
}

// KeepPackList rewrites the list to the packs of names that still exist
// (after grite merged some); the caller holds grite's packing lock.
func (r *Repo) KeepPackList(names map[string]bool) error {
	dir := filepath.Join(r.CommonDir, "objects", "pack")
	var b strings.Builder
	for n := range names {
		if _, err := os.Stat(filepath.Join(dir, n+".idx")); err == nil {
			b.WriteString(n + "\n")
		}
	}
	tmp := filepath.Join(r.GriteDir(), packListName+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.GriteDir(), packListName))
}

// openAppend opens a file of grite's directory for appending, creating
// both if needed.
func (r *Repo) openAppend(name string) (*os.File, error) {
	path := filepath.Join(r.GriteDir(), name)
	f, err := plainfile.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if os.IsNotExist(err) {
		if err = os.MkdirAll(r.GriteDir(), 0o755); err == nil {
			f, err = plainfile.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		}
	}
	return f, err
}
