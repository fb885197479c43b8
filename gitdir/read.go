package gitdir

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/event"
)

// Reader reads objects of a repository; one serves a whole walk and is
// not safe for concurrent use. Loose objects, which is what every local
// append writes, are read straight from the objects directory with plain
// system calls and one reused inflater: go-git's filesystem layer lstats
// every path component, registers each file with the poller and allocates an
// inflater per object, which made reading a WAL of many small commits
// syscall- and GC-bound (docs/format.md §6: eight objects per commit). Packed
// objects are read from the memory-mapped packs, and objects of the
// directories the repository borrows from (alternates) by a reader of
// each, as git does.
type Reader struct {
	dir string
	zr  io.ReadCloser // zlib reader, reset per object
	raw bytes.Reader  // the compressed object being read
	buf []byte        // holds raw's bytes

	packs       []*pack // mapped on the first object not found loose
	packsLoaded bool
	rescanned   bool    // packs were mapped again after a miss
	stale       []*pack // replaced by a rescan; unmapped on close

	lastType plumbing.ObjectType // of the object read last
	cache    Cache               // read before the repository, if set (SetCache)

	alts       []*Reader // of the alternates, loaded on the first miss
	altsLoaded bool
	depth      int // of this reader's directory in the alternates chain
}

// maxAlternateDepth is how deep git follows alternates of alternates.
const maxAlternateDepth = 5

// loadPacks maps the repository's packs, once, and returns them.
func (r *Reader) loadPacks() []*pack {
	if !r.packsLoaded {
		r.packs, r.packsLoaded = openPacks(r.dir), true
	}
	return r.packs
}

// packed reports whether one of the repository's packs holds object h.
func (r *Reader) packed(h plumbing.Hash) bool {
	for _, p := range r.loadPacks() {
		if _, ok := p.offset(h); ok {
			return true
		}
	}
	return false
}

// NewReader returns a reader of repo's objects; Close releases it.
func NewReader(repo *Repo) *Reader {
	r := &Reader{dir: filepath.Join(repo.CommonDir, "objects")}
	if sc, ok := scratchPool.Get().(*scratch); ok {
		r.zr, r.buf = sc.zr, sc.buf
	}
	return r
}

// scratch is a closed reader's inflater and read buffer, for the next
// reader. A reader serves one walk or one look at the locks, and a
// long-lived session makes one for nearly every call: each new inflater
// allocated a 32 KiB window, the largest share of a swarm session's
// garbage (docs/performance.md, "Swarm, packing and the disk").
type scratch struct {
	zr  io.ReadCloser
	buf []byte
}

var scratchPool sync.Pool

// maxPooledBuf: a larger read buffer (a big chunk read once) is let go.
const maxPooledBuf = 256 << 10

// Cache is objects already in memory, by name; a reader given one reads
// them from it. Entries of type InvalidObject hold nothing and are
// ignored.
type Cache map[plumbing.Hash]CachedObject

// CachedObject is one object of a Cache.
type CachedObject struct {
	Type plumbing.ObjectType
	Data []byte
}

// SetCache makes r read the objects of c from c instead of the
// repository; they must have been checked against their names.
func (r *Reader) SetCache(c Cache) { r.cache = c }

// Close unmaps the packs the reader and its alternates' readers mapped.
func (r *Reader) Close() {
	if r.zr != nil || r.buf != nil {
		if cap(r.buf) > maxPooledBuf {
			r.buf = nil
		}
		scratchPool.Put(&scratch{zr: r.zr, buf: r.buf})
		r.zr, r.buf = nil, nil
	}
	closePacks(r.packs)
	closePacks(r.stale)
	r.packs, r.stale = nil, nil
	for _, a := range r.alts {
		a.Close()
	}
}

// resetInflater points the reused zlib reader at r.raw.
func (r *Reader) resetInflater() error {
	if r.zr == nil {
		zr, err := zlib.NewReader(&r.raw)
		r.zr = zr
		return err
	}
	return r.zr.(zlib.Resetter).Reset(&r.raw, nil)
}

// read returns the content of object h, which must be of type want (any
// type for plumbing.AnyObject; lastType then tells which) and at most
// limit bytes (checked before the content is allocated).
func (r *Reader) read(h plumbing.Hash, want plumbing.ObjectType, limit int64) ([]byte, error) {
	if o := r.cache[h]; o.Type != plumbing.InvalidObject {
		if want != plumbing.AnyObject && o.Type != want {
			return nil, fmt.Errorf("object %s is a %s, want %s", h, o.Type, want)
		}
		if int64(len(o.Data)) > limit {
			return nil, fmt.Errorf("%s %s is %d bytes, limit %d: %w", o.Type, h, len(o.Data), limit, event.ErrTooLarge)
		}
		r.lastType = o.Type
		return o.Data, nil
	}
	// Once an object was missing loose, the packs are mapped and looked
	// up first: an index search costs less than a failed open, and fetched
	// history is packed.
	if r.packsLoaded {
		if data, found, err := r.readPacked(h, want, limit); found {
			return data, err
		}
	}
	raw, err := r.readLoose(h)
	if errors.Is(err, fs.ErrNotExist) {
		// Map the packs, or map them again once: another process may have
		// written or consolidated packs since (every append writes one),
		// as git rescans its packs on a miss.
		if !r.packsLoaded || !r.rescanned {
			r.rescanned = r.packsLoaded
			r.stale = append(r.stale, r.packs...)
			r.packs, r.packsLoaded = openPacks(r.dir), true
			if data, found, err := r.readPacked(h, want, limit); found {
				return data, err
			}
		}
		return r.readAlternate(h, want, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	r.raw.Reset(raw)
	if err := r.resetInflater(); err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	// Header: "<type> <size>\x00"; the longest valid one is "commit " plus
	// 20 digits and the NUL.
	var hdr [32]byte
	n := 0
	for {
		if n == len(hdr) {
			return nil, fmt.Errorf("object %s: malformed header", h)
		}
		if _, err := io.ReadFull(r.zr, hdr[n:n+1]); err != nil {
			return nil, fmt.Errorf("object %s: header: %w", h, err)
		}
		if hdr[n] == 0 {
			break
		}
		n++
	}
	typ, size, ok := bytes.Cut(hdr[:n], []byte(" "))
	if !ok {
		return nil, fmt.Errorf("object %s: malformed header %q", h, hdr[:n])
	}
	t, err := plumbing.ParseObjectType(string(typ))
	if err != nil || (want != plumbing.AnyObject && t != want) {
		return nil, fmt.Errorf("object %s is a %s, want %s", h, typ, want)
	}
	sz, err := strconv.ParseInt(string(size), 10, 64)
	if err != nil || sz < 0 {
		return nil, fmt.Errorf("object %s: malformed size %q", h, size)
	}
	if sz > limit {
		return nil, fmt.Errorf("%s %s is %d bytes, limit %d: %w", t, h, sz, limit, event.ErrTooLarge)
	}
	r.lastType = t
	data := make([]byte, sz)
	if _, err := io.ReadFull(r.zr, data); err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	// Read on to the end of the stream so zlib checks its checksum, as git
	// does; anything after the content is corruption too.
	var more [1]byte
	switch _, err := io.ReadFull(r.zr, more[:]); {
	case err == nil:
		return nil, fmt.Errorf("object %s: data after the %d bytes its header declares", h, sz)
	case err != io.EOF:
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	return data, nil
}

// Read returns the content of object h and its type. The object must be
// of type want (any type for plumbing.AnyObject) and at most limit bytes,
// which is checked before the content is allocated; an object found
// nowhere is plumbing.ErrObjectNotFound. Packs are listed again once
// after a miss, as git does, and every stream's checksum is checked.
func (r *Reader) Read(h plumbing.Hash, want plumbing.ObjectType, limit int64) ([]byte, plumbing.ObjectType, error) {
	data, err := r.read(h, want, limit)
	if err != nil {
		return nil, plumbing.InvalidObject, err
	}
	return data, r.lastType, nil
}

// Packed reports whether one of the repository's packs (not its
// alternates) holds object h.
func (r *Reader) Packed(h plumbing.Hash) bool { return r.packed(h) }

// PackedObjects is how many objects the repository's packs hold (counting
// an object in two packs twice).
func (r *Reader) PackedObjects() int {
	n := 0
	for _, p := range r.loadPacks() {
		n += p.n
	}
	return n
}

// Loose reports whether object h is stored loose in the repository itself.
func (r *Reader) Loose(h plumbing.Hash) bool {
	_, err := os.Lstat(r.loosePath(h))
	return err == nil
}

func (r *Reader) loosePath(h plumbing.Hash) string {
	hex := h.String()
	return filepath.Join(r.dir, hex[:2], hex[2:])
}

// readLoose returns the compressed bytes of a loose object. It uses plain
// system calls: os.Open would also try (and fail) to register the file with
// the poller, several extra calls per object that cost more than the read.
func (r *Reader) readLoose(h plumbing.Hash) ([]byte, error) {
	fd, err := openRead(r.loosePath(h))
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	if r.buf == nil {
		r.buf = make([]byte, 16<<10)
	}
	n := 0
	for {
		if n == len(r.buf) {
			if int64(n) > event.MaxChunkBytes+1<<20 { // compressed data never grows this much
				return nil, fmt.Errorf("loose object larger than %d bytes", n)
			}
			r.buf = append(r.buf, make([]byte, n)...)
		}
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
	}
}

func openRead(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// readAlternate reads object h, found neither loose nor packed here, from
// the object directories this one borrows from; an object none of them
// holds is plumbing.ErrObjectNotFound.
func (r *Reader) readAlternate(h plumbing.Hash, want plumbing.ObjectType, limit int64) ([]byte, error) {
	if !r.altsLoaded {
		r.altsLoaded = true
		if r.depth < maxAlternateDepth {
			for _, dir := range Alternates(r.dir) {
				r.alts = append(r.alts, &Reader{dir: dir, depth: r.depth + 1})
			}
		}
	}
	for _, a := range r.alts {
		data, err := a.read(h, want, limit)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue
		}
		r.lastType = a.lastType
		return data, err
	}
	return nil, fmt.Errorf("object %s: %w", h, plumbing.ErrObjectNotFound)
}

// maxTreeBytes caps a tree object read by Tree; a WAL tree holds one or
// two entries.
const maxTreeBytes = 1 << 20

// maxCommitBytes caps a commit object read by Commit; a WAL commit is
// ~250 bytes.
const maxCommitBytes = 1 << 20

// CommitHeader is what a walk needs of a commit object.
type CommitHeader struct {
	TreeHash     plumbing.Hash
	ParentHashes []plumbing.Hash
	Committed    int64 // committer time, Unix seconds (0 if unreadable)
}

// Commit reads the header of commit h.
func (r *Reader) Commit(h plumbing.Hash) (CommitHeader, error) {
	data, err := r.read(h, plumbing.CommitObject, maxCommitBytes)
	if err != nil {
		return CommitHeader{}, err
	}
	return ParseCommit(data)
}

// ReadFile returns the content of the file at path (slash-separated) in
// the tree of commit, refusing one larger than limit bytes. A path that
// names no file there is an error satisfying fs.ErrNotExist.
func (repo *Repo) ReadFile(commit plumbing.Hash, path string, limit int64) ([]byte, error) {
	b, _, err := repo.ReadFileAt(commit, path, limit)
	return b, err
}

// ReadFileAt is ReadFile that also returns the commit's committer time
// (zero if the commit does not say it readably).
func (repo *Repo) ReadFileAt(commit plumbing.Hash, path string, limit int64) ([]byte, time.Time, error) {
	r := NewReader(repo)
	defer r.Close()
	return r.FileAt(commit, path, limit)
}

// FileAt is Repo.ReadFileAt through r.
func (r *Reader) FileAt(commit plumbing.Hash, path string, limit int64) ([]byte, time.Time, error) {
	c, err := r.Commit(commit)
	if err != nil {
		return nil, time.Time{}, err
	}
	var at time.Time
	if c.Committed > 0 {
		at = time.Unix(c.Committed, 0)
	}
	b, err := r.File(c.TreeHash, path, limit)
	return b, at, err
}

// File reads the blob at path (slash-separated) below tree, refusing one
// larger than limit bytes; a path that names no file there is an error
// satisfying fs.ErrNotExist.
func (r *Reader) File(tree plumbing.Hash, path string, limit int64) ([]byte, error) {
	h := tree
	for rest := path; ; {
		name, more, dir := strings.Cut(rest, "/")
		entries, err := r.Tree(h)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(entries, func(e TreeEntry) bool { return e.Name == name })
		if i < 0 || (entries[i].Mode == filemode.Dir) != dir {
			return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
		}
		h = entries[i].Hash
		if !dir {
			return r.read(h, plumbing.BlobObject, limit)
		}
		rest = more
	}
}

// Tree reads and decodes tree h.
func (r *Reader) Tree(h plumbing.Hash) ([]TreeEntry, error) {
	data, err := r.read(h, plumbing.TreeObject, maxTreeBytes)
	if err != nil {
		return nil, err
	}
	return ParseTree(data)
}

// ParseCommit reads a commit's tree and parents from its header (the
// lines before the first empty one). go-git's decoder copied the object
// and parsed the whole of it through a buffered reader, which was a sixth
// of validating a pulled history.
func ParseCommit(data []byte) (CommitHeader, error) {
	var c CommitHeader
	seenTree := false
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(line) == 0 {
			break
		}
		key, val, _ := bytes.Cut(line, []byte(" "))
		switch string(key) {
		case "committer":
			// "Name <email> <unix seconds> <zone>"
			if f := bytes.Fields(val[bytes.LastIndexByte(val, '>')+1:]); len(f) == 2 {
				c.Committed, _ = strconv.ParseInt(string(f[0]), 10, 64)
			}
		case "tree", "parent":
			h, ok := ParseHash(val)
			if !ok {
				return CommitHeader{}, fmt.Errorf("commit names a malformed %s %q", key, val)
			}
			if string(key) == "parent" {
				c.ParentHashes = append(c.ParentHashes, h)
			} else if seenTree {
				return CommitHeader{}, errors.New("commit names two trees")
			} else {
				c.TreeHash, seenTree = h, true
			}
		}
	}
	if !seenTree {
		return CommitHeader{}, errors.New("commit names no tree")
	}
	return c, nil
}

// ParseTree decodes a tree object: per entry "<octal mode> <name>\x00"
// and the 20-byte object ID.
func ParseTree(data []byte) ([]TreeEntry, error) {
	var out []TreeEntry
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 || sp > 7 {
			return nil, errors.New("malformed tree entry mode")
		}
		var mode uint32
		for _, c := range data[:sp] {
			if c < '0' || c > '7' {
				return nil, fmt.Errorf("malformed tree entry mode %q", data[:sp])
			}
			mode = mode<<3 | uint32(c-'0')
		}
		rest := data[sp+1:]
		nul := bytes.IndexByte(rest, 0)
		if nul < 0 || len(rest) < nul+21 {
			return nil, errors.New("truncated tree entry")
		}
		if nul == 0 {
			return nil, errors.New("tree entry with an empty name")
		}
		if filemode.FileMode(mode).IsMalformed() {
			return nil, fmt.Errorf("tree entry with mode %o", mode)
		}
		var h plumbing.Hash
		copy(h[:], rest[nul+1:nul+21])
		out = append(out, TreeEntry{Name: string(rest[:nul]), Mode: filemode.FileMode(mode), Hash: h})
		data = rest[nul+21:]
	}
	return out, nil
}
