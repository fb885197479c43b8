package gitdir

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pjbgf/sha1cd"
)

// WriteObject stores data as a loose object of type t and returns its ID,
// the way git does: compressed at git's default loose level (1, best speed),
// written to a file that gets the object's name only once complete, so a
// reader (or a kill) never sees a partial object. Where the kernel allows,
// that file is created unnamed and linked in (placeUnnamed): creating the
// eight files of an append was most of its cost, and a temporary name
// plus a rename changed each fan-out directory twice per object. Elsewhere
// it is a named temporary file renamed into place, as git does.
//
// go-git's object writer was most of an append's cost: it allocates and clears a
// default-level deflater (640 KiB of tables) per object and lstats every
// path component; an append writes eight objects (docs/format.md §6). An object
// already stored loose is not written again: linking an unnamed file fails
// on the existing name, which saves looking first for the eight new names
// of every append; a named temporary is only written after a look.
func (r *Repo) WriteObject(t plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	h := r.hasher.Sum(t, data)
	name := h.String()
	dir := filepath.Join(r.CommonDir, "objects", name[:2])
	final := filepath.Join(dir, name[2:])
	compressed, err := r.deflate(t, data)
	if err != nil {
		return h, fmt.Errorf("write object %s: %w", name, err)
	}
	if !r.namedTemps {
		var placed bool
		err := inFanOut(dir, 1, func() (err error) {
			placed, err = placeUnnamed(dir, final, compressed)
			return err
		})
		switch {
		case placed:
			r.noteLoose()
			return h, nil
		case err == nil:
			r.namedTemps = true // not on this file system, kernel or machine
		case !fanOutGone(err):
			return h, fmt.Errorf("write object %s: %w", name, err)
		}
		// The directory keeps vanishing while it holds no file of ours:
		// a named temporary holds it.
	}
	if _, err := os.Lstat(final); err == nil {
		return h, nil
	}
	var tmp string
	err = inFanOut(dir, fanOutTries, func() (err error) {
		tmp, err = writeTemp(dir, compressed)
		return err
	})
	if err != nil {
		return h, fmt.Errorf("write object %s: %w", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return h, fmt.Errorf("write object %s: %w", name, err)
	}
	r.noteLoose()
	return h, nil
}

// inFanOut runs write, which creates a file in the fan-out directory dir.
// If dir does not exist, it makes it and runs write again, up to tries
// more times: the first object in a directory, and a packer (grite's, in
// this process or another, or git's prune-packed) removing emptied
// directories while writers go on, so that dir can vanish again between
// the making and the writing. A directory that cannot be written gives
// its error.
func inFanOut(dir string, tries int, write func() error) error {
	err := write()
	for i := range tries {
		if !fanOutGone(err) {
			return err
		}
		if i > 0 {
			// Lost twice in a row: a remover in step with us (a loop
			// that removes as fast as we make). A jittered pause breaks
			// the step.
			time.Sleep(time.Duration(rand.Int64N(int64(20 * time.Microsecond * time.Duration(i)))))
		}
		if mk := os.MkdirAll(dir, 0o755); mk != nil {
			return mk
		}
		err = write()
	}
	return err
}

// fanOutTries bounds inFanOut's retries of a named temporary; a lost
// race costs one, and once the temporary exists the directory stays.
// Under a full CPU, a removal loop running beside the writer won 8 races
// in a row once.
const fanOutTries = 32

// fanOutGone reports whether a file could not be made because its
// directory is missing, or went while the file was being made (ext4 then
// refuses it with EPERM).
func fanOutGone(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission)
}

// storedMax is the largest object written as a stored (uncompressed) zlib
// stream. Nearly every WAL object is a few hundred bytes, which deflate
// barely shrinks, while setting up a deflater is dear in a fresh process
// (its tables are most of a megabyte); larger objects (long
// bodies) are compressed at git's default loose level.
const storedMax = 8 << 10

// deflate returns the zlib stream of the object's header and content. The
// returned slice is valid until the next call.
func (r *Repo) deflate(t plumbing.ObjectType, data []byte) ([]byte, error) {
	r.hdr = appendObjectHeader(r.hdr[:0], t, len(data))
	return r.zlibStream(r.hdr, data)
}

// zlibStream returns the zlib stream of prefix||data: stored when small,
// at git's default loose level otherwise. The returned slice is valid
// until the next call.
func (r *Repo) zlibStream(prefix, data []byte) ([]byte, error) {
	if len(prefix)+len(data) <= storedMax {
		r.stored = appendStored(r.stored[:0], prefix, data)
		return r.stored, nil
	}
	r.objBuf.Reset()
	if r.deflater == nil {
		zw, err := zlib.NewWriterLevel(&r.objBuf, zlib.BestSpeed)
		if err != nil {
			return nil, err
		}
		r.deflater = zw
	} else {
		r.deflater.Reset(&r.objBuf)
	}
	if _, err := r.deflater.Write(prefix); err != nil {
		return nil, err
	}
	if _, err := r.deflater.Write(data); err != nil {
		return nil, err
	}
	if err := r.deflater.Close(); err != nil {
		return nil, err
	}
	return r.objBuf.Bytes(), nil
}

// appendStored appends a zlib stream (RFC 1950) holding a||b in one stored
// deflate block (RFC 1951 §3.2.4); len(a)+len(b) must be under 64 KiB.
func appendStored(dst, a, b []byte) []byte {
	n := len(a) + len(b)
	dst = append(dst,
		0x78, 0x01, // CMF: deflate, 32 KiB window; FLG: fastest, check bits
		0x01,                // BFINAL=1, BTYPE=00 (stored)
		byte(n), byte(n>>8), // LEN
		^byte(n), ^byte(n>>8)) // NLEN
	start := len(dst)
	dst = append(dst, a...)
	dst = append(dst, b...)
	sum := adler32.Checksum(dst[start:])
	return append(dst, byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)) // big-endian, as RFC 1950 wants
}

// writeTemp writes b to a new read-only file with a random name in dir
// (git's loose objects are 0444) and returns its path.
func writeTemp(dir string, b []byte) (string, error) {
	return writeTempFile(dir, "tmp_obj_", func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// objectWriter state lives on Repo (one writer per process or session).
type objectWriter struct {
	deflater *zlib.Writer
	objBuf   bytes.Buffer // compressed streams
	stored   []byte       // stored streams, reused: a fetch writes thousands
	hdr      []byte
	hasher   ObjectHasher
	// namedTemps is set once the file system refused an unnamed file:
	// objects then go through a named temporary and a rename.
	namedTemps bool
	// looseLog is grite's count of the loose objects it wrote (see
	// LooseCount), opened at the first new object.
	looseLog *os.File
}

// appendObjectHeader appends git's object header, "<type> <size>\x00",
// which a loose object stores and an object's name hashes.
func appendObjectHeader(dst []byte, t plumbing.ObjectType, size int) []byte {
	dst = append(append(dst, t.String()...), ' ')
	return append(strconv.AppendInt(dst, int64(size), 10), 0)
}

// ObjectHasher names objects as git does, with the collision-detecting
// SHA-1 of go-git's plumbing.ComputeHash, keeping one hash state: a fetch
// names thousands of objects, and a new state for each was a sixth of the
// garbage a pull made. The zero value is ready; not safe for concurrent
// use.
type ObjectHasher struct {
	h   hash.Hash // sha1cd's unless set (WritePack sets the standard SHA-1)
	hdr []byte
}

// Sum returns the name of the object of type t holding data.
func (o *ObjectHasher) Sum(t plumbing.ObjectType, data []byte) (id plumbing.Hash) {
	if o.h == nil {
		o.h = sha1cd.New()
	}
	o.h.Reset()
	o.hdr = appendObjectHeader(o.hdr[:0], t, len(data))
	o.h.Write(o.hdr)
	o.h.Write(data)
	o.h.Sum(id[:0])
	return id
}
