package gitdir

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// Object is one object to store: its type and content (no header).
type Object struct {
	Type plumbing.ObjectType // commit, tree, blob or tag
	Data []byte
	// ID, when not zero, is the object's name as the caller already
	// computed (and checked) it; it is not hashed again.
	ID plumbing.Hash
}

// packEntry is what the index records of one stored object.
type packEntry struct {
	id     plumbing.Hash
	offset uint64
	crc    uint32 // of the entry's raw bytes, so a repack can copy it unchecked
}

// WritePack stores objs as one new pack (version 2, no deltas) with its
// version-2 index in objects/pack and returns the pack's name
// ("pack-<40 hex>", the hex being the pack's trailing SHA-1 checksum, as
// git names packs) and the object IDs in the order of objs. Duplicate
// objects within objs are stored once.
//
// Like git, it writes both files under temporary names and renames the
// pack into place before the index: readers find packs through their
// index, so none ever sees an index whose pack is missing.
func (r *Repo) WritePack(objs []Object) (name string, ids []plumbing.Hash, err error) {
	if len(objs) == 0 {
		return "", nil, errors.New("write pack: no objects")
	}
	ids = make([]plumbing.Hash, len(objs))
	var uniq []int // index in objs of the first copy of each object
	// The standard library's SHA-1: go-git's collision-detecting one is
	// several times slower, and the objects named here are grite's own or
	// were already checked with it.
	hasher := ObjectHasher{h: sha1.New()}
	seen := make(map[plumbing.Hash]bool, len(objs))
	for i, o := range objs {
		switch o.Type {
		case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
		default:
			return "", nil, fmt.Errorf("write pack: object %d has type %v", i, o.Type)
		}
		if ids[i] = o.ID; ids[i].IsZero() {
			ids[i] = hasher.Sum(o.Type, o.Data)
		}
		if !seen[ids[i]] {
			seen[ids[i]] = true
			uniq = append(uniq, i)
		}
	}
	var hb [10]byte // enough for any 64-bit size
	name, err = r.writePack(len(uniq), func(k int) (plumbing.Hash, []byte, []byte, error) {
		o := objs[uniq[k]]
		z, err := r.deflateEntry(o.Data)
		return ids[uniq[k]], appendEntryHeader(hb[:0], o.Type, uint64(len(o.Data))), z, err
	})
	if err != nil {
		return "", nil, fmt.Errorf("write pack: %w", err)
	}
	return name, ids, nil
}

// RawEntry is one undeltified entry of an existing pack, copied as it is
// stored (header and zlib stream).
type RawEntry struct {
	ID  plumbing.Hash
	Raw []byte
}

// WriteRawPack stores entries, copied byte for byte, as one new pack and
// index (see WritePack); consolidating packs then costs no inflating or
// compressing. entry(i) returns the i-th of n entries; its Raw must stay
// valid until the next call. The IDs must be distinct and right: they are
// not recomputed.
func (r *Repo) WriteRawPack(n int, entry func(i int) (RawEntry, error)) (string, error) {
	name, err := r.writePack(n, func(i int) (plumbing.Hash, []byte, []byte, error) {
		e, err := entry(i)
		return e.ID, nil, e.Raw, err
	})
	if err != nil {
		return "", fmt.Errorf("write pack: %w", err)
	}
	return name, nil
}

// writePack writes the n entries entry returns (the entry's header, then
// the rest of its raw bytes) as a pack and its index, renaming them into
// place, and returns the pack's name.
func (r *Repo) writePack(n int, entry func(i int) (plumbing.Hash, []byte, []byte, error)) (name string, err error) {
	if n == 0 {
		return "", errors.New("no objects")
	}
	dir := filepath.Join(r.CommonDir, "objects", "pack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var tmpPack, tmpIdx string
	defer func() {
		if err != nil {
			for _, p := range []string{tmpPack, tmpIdx} {
				if p != "" {
					_ = os.Remove(p)
				}
			}
		}
	}()
	var entries []packEntry
	var sum [sha1.Size]byte
	tmpPack, err = writeTempFile(dir, "tmp_pack_", func(w io.Writer) (werr error) {
		entries, sum, werr = writePackData(w, n, entry)
		return werr
	})
	if err != nil {
		return "", err
	}
	tmpIdx, err = writeTempFile(dir, "tmp_idx_", func(w io.Writer) error {
		_, err := w.Write(packIndex(entries, sum))
		return err
	})
	if err != nil {
		return "", err
	}

	name = "pack-" + hex.EncodeToString(sum[:])
	base := filepath.Join(dir, name)
	// The name is the checksum of the content, so an existing index means
	// this very pack is already complete. A .pack without its .idx (a
	// writer killed between the renames) is overwritten with the same bytes.
	if _, err := os.Stat(base + ".idx"); err == nil {
		_ = os.Remove(tmpPack)
		_ = os.Remove(tmpIdx)
	} else {
		if err := os.Rename(tmpPack, base+".pack"); err != nil {
			return "", err
		}
		if err := os.Rename(tmpIdx, base+".idx"); err != nil {
			return "", err
		}
	}
	// No go-git Reindex here: it would make go-git parse every index
	// again at its next lookup, after each append; Objects lists packs
	// again only when a lookup misses.
	r.recordPack(name)
	return name, nil
}

// writePackData writes the pack of n entries to w and returns the index
// entries in pack order and the pack's checksum.
func writePackData(w io.Writer, n int, entry func(i int) (plumbing.Hash, []byte, []byte, error)) ([]packEntry, [sha1.Size]byte, error) {
	var sum [sha1.Size]byte
	h := sha1.New()
	// bufio's write errors are sticky, so checking Flush alone catches any.
	// Sized to the pack for small ones: a fresh process (one CLI append)
	// pays a page fault per page of a buffer it touches.
	bw := bufio.NewWriterSize(w, min(64<<10, max(4<<10, 512*n)))
	mw := io.MultiWriter(bw, h)
	var head [12]byte
	copy(head[:], "PACK")
	binary.BigEndian.PutUint32(head[4:], 2)
	binary.BigEndian.PutUint32(head[8:], uint32(n))
	// Writes to bw and h: a hash never fails, and bufio keeps the first
	// write error for Flush, whose error is returned.
	_, _ = mw.Write(head[:])
	off := uint64(len(head))
	entries := make([]packEntry, 0, n)
	for i := 0; i < n; i++ {
		id, hdr, rest, err := entry(i)
		if err != nil {
			return nil, sum, err
		}
		crc := crc32.Update(crc32.ChecksumIEEE(hdr), crc32.IEEETable, rest)
		entries = append(entries, packEntry{id: id, offset: off, crc: crc})
		_, _ = mw.Write(hdr)
		_, _ = mw.Write(rest)
		off += uint64(len(hdr) + len(rest))
	}
	h.Sum(sum[:0])
	_, _ = bw.Write(sum[:])
	return entries, sum, bw.Flush()
}

// appendEntryHeader appends a pack entry's header as git encodes it: the
// type and the low 4 bits of the size, then 7 bits at a time, little-endian,
// the high bit of each byte saying another follows.
func appendEntryHeader(dst []byte, t plumbing.ObjectType, size uint64) []byte {
	c := byte(t)<<4 | byte(size&15)
	for size >>= 4; size != 0; size >>= 7 {
		dst = append(dst, c|0x80)
		c = byte(size & 0x7f)
	}
	return append(dst, c)
}

// deflateEntry is deflate without the loose object's "type size\0" header,
// which a pack entry carries in its own header instead. The returned slice
// is valid until the next call.
func (r *Repo) deflateEntry(data []byte) ([]byte, error) { return r.zlibStream(nil, data) }

// packIndex returns the version-2 index of a pack (gitformat-pack(5)),
// laid out byte for byte as git index-pack writes it. It sorts entries.
func packIndex(entries []packEntry, packSum [sha1.Size]byte) []byte {
	slices.SortFunc(entries, func(a, b packEntry) int { return bytes.Compare(a.id[:], b.id[:]) })
	n := len(entries)
	idx := make([]byte, 0, 8+256*4+n*(20+4+4)+2*sha1.Size)
	idx = append(append(idx, indexMagic...), 0, 0, 0, 2)
	var fanout [256]uint32
	for _, e := range entries {
		fanout[e.id[0]]++
	}
	var total uint32
	for _, c := range fanout {
		total += c
		idx = binary.BigEndian.AppendUint32(idx, total)
	}
	for _, e := range entries {
		idx = append(idx, e.id[:]...)
	}
	for _, e := range entries {
		idx = binary.BigEndian.AppendUint32(idx, e.crc)
	}
	// Offsets that do not fit in 31 bits live in a table of 64-bit ones;
	// the 32-bit slot then holds the MSB flag and their place in it.
	var large []uint64
	for _, e := range entries {
		if e.offset <= 0x7fffffff {
			idx = binary.BigEndian.AppendUint32(idx, uint32(e.offset))
		} else {
			idx = binary.BigEndian.AppendUint32(idx, 0x80000000|uint32(len(large)))
			large = append(large, e.offset)
		}
	}
	for _, o := range large {
		idx = binary.BigEndian.AppendUint64(idx, o)
	}
	idx = append(idx, packSum[:]...)
	sum := sha1.Sum(idx)
	return append(idx, sum[:]...)
}

// writeTempFile creates a read-only temporary file in dir (git's packs are
// 0444) whose name starts with prefix, fills it with write, and returns
// its path. On error it removes the file.
//
// It does not sync: a pack of one append is the same few hundred bytes
// git writes as loose objects without syncing (core.fsync's default),
// and a sync costs milliseconds on the disks this runs on. Like loose
// objects, a pack survives the writer being killed; only a power loss
// can leave it short, as it can a loose object.
func writeTempFile(dir, prefix string, write func(io.Writer) error) (string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	f, err := os.OpenFile(filepath.Join(dir, prefix+hex.EncodeToString(rnd[:])), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Batch collects new objects and stores them as one pack (a local fetch's
// copy). Objects added to a batch exist only after Flush.
type Batch struct {
	repo *Repo
	objs []Object
}

// NewBatch starts an empty batch of objects for r, with room for size.
func (r *Repo) NewBatch(size int) *Batch {
	return &Batch{repo: r, objs: make([]Object, 0, size)}
}

// Add adds an object whose name the caller computed and checked; the
// batch keeps data (no copy) until Flush.
func (b *Batch) Add(id plumbing.Hash, t plumbing.ObjectType, data []byte) {
	b.objs = append(b.objs, Object{Type: t, Data: data, ID: id})
}

// Flush stores the objects added since the last Flush as one pack.
func (b *Batch) Flush() error {
	if len(b.objs) == 0 {
		return nil
	}
	_, _, err := b.repo.WritePack(b.objs)
	b.objs = b.objs[:0]
	return err
}
