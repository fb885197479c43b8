package gitdir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
)

// pack is one pack file and its version-2 index, both mapped read-only.
// Reading fetched history through go-git cost a failed loose-file open, an
// index probe, a seek and buffered reads per object; a 1,000-commit pull
// (8,000 objects) spent most of its time there. Both index versions are
// read: git writes version 2, and version 1 when asked to
// (pack.indexVersion=1). Packs that cannot be mapped or parsed are
// skipped, and their objects read as missing.
type pack struct {
	idx, data []byte
	n         int  // objects in the pack
	v1        bool // the index is version 1: no header, (offset, name) entries
}

// maxDeltaDepth bounds delta chains (git's default depth is 50; its
// maximum 4095); a longer chain is treated as corruption.
const maxDeltaDepth = 4095

// openPacks maps every pack of the objects directory, newest first (a pull
// reads what the fetch just stored).
func openPacks(objects string) []*pack {
	dir := filepath.Join(objects, "pack")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type named struct {
		name  string
		mtime int64
	}
	var idxs []named
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".idx") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			idxs = append(idxs, named{e.Name(), fi.ModTime().UnixNano()})
		}
	}
	sort.Slice(idxs, func(i, j int) bool { return idxs[i].mtime > idxs[j].mtime })
	var out []*pack
	for _, x := range idxs {
		base := filepath.Join(dir, strings.TrimSuffix(x.name, ".idx"))
		if p, err := mapPack(base+".idx", base+".pack"); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func mapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil, fmt.Errorf("%s: unusable size %d", path, fi.Size())
	}
	return syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
}

func mapPack(idxPath, packPath string) (*pack, error) {
	idx, err := mapFile(idxPath)
	if err != nil {
		return nil, err
	}
	n, v1, err := indexHeader(idx)
	entry := 28
	if v1 {
		entry = 24
	}
	if err == nil && len(idx) < indexHeadSize(v1)+n*entry+40 {
		err = errors.New("truncated")
	}
	if err != nil {
		syscall.Munmap(idx)
		return nil, fmt.Errorf("%s: %w", idxPath, err)
	}
	data, err := mapFile(packPath)
	if err != nil {
		syscall.Munmap(idx)
		return nil, err
	}
	if len(data) < 12+20 || !bytes.Equal(data[:4], []byte("PACK")) {
		syscall.Munmap(idx)
		syscall.Munmap(data)
		return nil, fmt.Errorf("%s: not a pack", packPath)
	}
	return &pack{idx: idx, data: data, n: n, v1: v1}, nil
}

// indexMagic starts a pack index of version 2 or later, then its version.
const indexMagic = "\xfftOc"

// indexHeadSize is the length of an index's header and fan-out table.
func indexHeadSize(v1 bool) int {
	if v1 {
		return 256 * 4
	}
	return 8 + 256*4
}

// indexHeader reads the version of a pack index and the number of objects
// it lists (the last fan-out entry) from its first indexHeadSize bytes.
// Version 2 starts with a magic number and its version; version 1 with the
// fan-out table, whose counts never reach that magic.
func indexHeader(idx []byte) (n int, v1 bool, err error) {
	v1 = len(idx) >= 4 && string(idx[:4]) != indexMagic
	if !v1 && (len(idx) < 8 || binary.BigEndian.Uint32(idx[4:8]) != 2) {
		return 0, false, errors.New("not a pack index of version 1 or 2")
	}
	head := indexHeadSize(v1)
	if len(idx) < head {
		return 0, false, errors.New("truncated")
	}
	n = int(binary.BigEndian.Uint32(idx[head-4 : head]))
	if n < 0 {
		return 0, false, errors.New("truncated")
	}
	return n, v1, nil
}

func closePacks(ps []*pack) {
	for _, p := range ps {
		syscall.Munmap(p.idx)
		syscall.Munmap(p.data)
	}
}

// offset returns where object h starts in the pack.
func (p *pack) offset(h plumbing.Hash) (int, bool) {
	i, ok := p.find(h)
	switch {
	case !ok:
		return 0, false
	case p.v1: // (4-byte offset, name) entries after the fan-out table
		return int(binary.BigEndian.Uint32(p.idx[256*4+i*24:])), true
	}
	names := p.idx[8+256*4:]
	offs := names[p.n*20+p.n*4:]
	off := binary.BigEndian.Uint32(offs[i*4:])
	if off&0x80000000 == 0 {
		return int(off), true
	}
	large := offs[p.n*4:]
	j := int(off & 0x7fffffff)
	if len(large) < (j+1)*8+40 {
		return 0, false
	}
	o := binary.BigEndian.Uint64(large[j*8:])
	if o > uint64(len(p.data)) {
		return 0, false
	}
	return int(o), true
}

// find returns the index entry of object h: the fan-out table bounds a
// binary search of the sorted names. Version 2 has a header before the
// table and the names alone after it; version 1 has each name after its
// 4-byte offset.
func (p *pack) find(h plumbing.Hash) (int, bool) {
	fan, names, stride := 8, 8+256*4, 20
	if p.v1 {
		fan, names, stride = 0, 256*4+4, 24
	}
	lo := 0
	if h[0] > 0 {
		lo = int(binary.BigEndian.Uint32(p.idx[fan+4*(int(h[0])-1):]))
	}
	hi := int(binary.BigEndian.Uint32(p.idx[fan+4*int(h[0]):]))
	if hi > p.n || lo > hi {
		return 0, false
	}
	name := func(i int) []byte { return p.idx[names+i*stride : names+i*stride+20] }
	i := lo + sort.Search(hi-lo, func(i int) bool { return bytes.Compare(name(lo+i), h[:]) >= 0 })
	if i >= hi || !bytes.Equal(name(i), h[:]) {
		return 0, false
	}
	return i, true
}

// readPacked returns object h from the mapped packs; found is false when
// no pack holds it.
func (r *Reader) readPacked(h plumbing.Hash, want plumbing.ObjectType, limit int64) (data []byte, found bool, err error) {
	for _, p := range r.packs {
		off, ok := p.offset(h)
		if !ok {
			continue
		}
		t, data, err := r.packEntry(p, off, limit, 0)
		if err != nil {
			return nil, true, fmt.Errorf("object %s: %w", h, err)
		}
		if want != plumbing.AnyObject && t != want {
			return nil, true, fmt.Errorf("object %s is a %s, want %s", h, t, want)
		}
		r.lastType = t
		return data, true, nil
	}
	return nil, false, nil
}

var errPackCorrupt = errors.New("corrupt pack entry")

// packEntry decodes the entry at off, resolving deltas against their base.
func (r *Reader) packEntry(p *pack, off int, limit int64, depth int) (plumbing.ObjectType, []byte, error) {
	if depth > maxDeltaDepth {
		return 0, nil, fmt.Errorf("%w: delta chain longer than %d", errPackCorrupt, maxDeltaDepth)
	}
	d := p.data
	end := len(d) - 20 // the trailing checksum
	if off < 12 || off >= end {
		return 0, nil, errPackCorrupt
	}
	c := d[off]
	t := plumbing.ObjectType((c >> 4) & 7)
	size := uint64(c & 15)
	pos, shift := off+1, uint(4)
	for c&0x80 != 0 {
		if pos >= end || shift > 56 {
			return 0, nil, errPackCorrupt
		}
		c = d[pos]
		pos++
		size |= uint64(c&0x7f) << shift
		shift += 7
	}
	switch t {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
		if size > uint64(limit) {
			return t, nil, fmt.Errorf("%s is %d bytes, limit %d: %w", t, size, limit, event.ErrTooLarge)
		}
		data, err := r.inflate(d[pos:end], int(size))
		return t, data, err
	case plumbing.OFSDeltaObject, plumbing.REFDeltaObject:
	default:
		return 0, nil, fmt.Errorf("%w: type %d", errPackCorrupt, t)
	}
	// A delta is never much larger than what it builds.
	if size > uint64(limit)+1<<20 {
		return 0, nil, fmt.Errorf("delta of %d bytes, limit %d: %w", size, limit, event.ErrTooLarge)
	}
	var baseType plumbing.ObjectType
	var base []byte
	var err error
	if t == plumbing.OFSDeltaObject {
		if pos >= end {
			return 0, nil, errPackCorrupt
		}
		c := d[pos]
		pos++
		rel := uint64(c & 0x7f)
		for c&0x80 != 0 {
			if pos >= end || rel > uint64(off) {
				return 0, nil, errPackCorrupt
			}
			c = d[pos]
			pos++
			rel = (rel+1)<<7 | uint64(c&0x7f)
		}
		if rel == 0 || rel > uint64(off) {
			return 0, nil, errPackCorrupt
		}
		baseType, base, err = r.packEntry(p, off-int(rel), event.MaxChunkBytes+1<<20, depth+1)
	} else {
		if pos+20 > end {
			return 0, nil, errPackCorrupt
		}
		var bh plumbing.Hash
		copy(bh[:], d[pos:pos+20])
		pos += 20
		boff, ok := p.offset(bh)
		if !ok {
			return 0, nil, fmt.Errorf("%w: delta base %s is not in the pack", errPackCorrupt, bh)
		}
		baseType, base, err = r.packEntry(p, boff, event.MaxChunkBytes+1<<20, depth+1)
	}
	if err != nil {
		return 0, nil, err
	}
	delta, err := r.inflate(d[pos:end], int(size))
	if err != nil {
		return 0, nil, err
	}
	out, err := applyDelta(base, delta, limit)
	return baseType, out, err
}

// inflate decompresses one zlib stream of exactly size bytes from b.
func (r *Reader) inflate(b []byte, size int) ([]byte, error) {
	r.raw.Reset(b)
	if err := r.resetInflater(); err != nil {
		return nil, err
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(r.zr, out); err != nil {
		return nil, fmt.Errorf("%w: %v", errPackCorrupt, err)
	}
	// Reading on checks zlib's checksum; more data is corruption.
	var more [1]byte
	if n, err := r.zr.Read(more[:]); n != 0 || err != io.EOF {
		return nil, fmt.Errorf("%w: entry longer than its header says", errPackCorrupt)
	}
	return out, nil
}

// applyDelta builds a git delta's target from base (pack-format.txt,
// "Deltified representation"), refusing targets over limit.
func applyDelta(base, delta []byte, limit int64) ([]byte, error) {
	pos := 0
	varint := func() (uint64, bool) {
		var v uint64
		for shift := uint(0); pos < len(delta) && shift < 64; shift += 7 {
			c := delta[pos]
			pos++
			v |= uint64(c&0x7f) << shift
			if c&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	src, ok1 := varint()
	dst, ok2 := varint()
	if !ok1 || !ok2 || src != uint64(len(base)) {
		return nil, fmt.Errorf("%w: delta header", errPackCorrupt)
	}
	if dst > uint64(limit) {
		return nil, fmt.Errorf("delta target of %d bytes, limit %d: %w", dst, limit, event.ErrTooLarge)
	}
	out := make([]byte, 0, dst)
	for pos < len(delta) {
		op := delta[pos]
		pos++
		if op&0x80 == 0 { // insert op bytes
			n := int(op)
			if n == 0 || pos+n > len(delta) {
				return nil, fmt.Errorf("%w: delta insert", errPackCorrupt)
			}
			out = append(out, delta[pos:pos+n]...)
			pos += n
			continue
		}
		// The copy's offset takes up to 4 little-endian bytes, its length
		// up to 3; op's low 7 bits say which bytes are present.
		var cp [2]uint64
		for i := 0; i < 7; i++ {
			if op&(1<<i) == 0 {
				continue
			}
			if pos >= len(delta) {
				return nil, fmt.Errorf("%w: delta copy", errPackCorrupt)
			}
			field, shift := i/4, 8*(i%4)
			cp[field] |= uint64(delta[pos]) << shift
			pos++
		}
		cpOff, cpLen := cp[0], cp[1]
		if cpLen == 0 {
			cpLen = 0x10000
		}
		if cpOff+cpLen > uint64(len(base)) || uint64(len(out))+cpLen > dst {
			return nil, fmt.Errorf("%w: delta copy out of range", errPackCorrupt)
		}
		out = append(out, base[cpOff:cpOff+cpLen]...)
	}
	if uint64(len(out)) != dst {
		return nil, fmt.Errorf("%w: delta built %d bytes, header says %d", errPackCorrupt, len(out), dst)
	}
	return out, nil
}
