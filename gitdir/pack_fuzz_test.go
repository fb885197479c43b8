package gitdir

import (
	"bytes"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// FuzzApplyDelta: any delta, however malformed, yields an error or a
// target within the limit, never a panic; and a delta go-git's encoder
// makes from (base, target) rebuilds target exactly.
func FuzzApplyDelta(f *testing.F) {
	f.Add([]byte("hello, world"), []byte("hello, grite world"))
	f.Add([]byte{}, []byte("all new"))
	f.Add(bytes.Repeat([]byte("tree 0123456789abcdef "), 150), bytes.Repeat([]byte("tree 0123456789abcdeX "), 160))
	f.Add([]byte("abc"), []byte{3, 2, 0x91, 0, 2})          // a raw delta: copy 2 bytes from 0
	f.Add([]byte("abc"), []byte{3, 9, 0xff, 1, 1, 1, 1, 1}) // offsets far out of range
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, base, other []byte) {
		// other as a raw delta against base.
		if out, err := applyDelta(base, other, limit); err == nil && len(out) > limit {
			t.Fatalf("built %d bytes past the limit %d", len(out), limit)
		}
		// other as a target, encoded by go-git (whose encoder is slow on
		// large inputs, so only small ones).
		if len(base) > 4<<10 || len(other) > 4<<10 {
			return
		}
		delta := packfile.DiffDelta(base, other)
		out, err := applyDelta(base, delta, limit)
		if err != nil {
			t.Fatalf("a well-formed delta failed: %v", err)
		}
		if !bytes.Equal(out, other) {
			t.Fatalf("delta rebuilt %q, want %q", out, other)
		}
	})
}

// FuzzPackEntry: decoding an entry of an arbitrary pack errs or returns an
// object within the limit, never panics (the index is empty, so reference
// deltas find no base).
func FuzzPackEntry(f *testing.F) {
	f.Add([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x35\x78\x01\x01\x05\x00\xfa\xffhello\x06\x2c\x02\x15"+"01234567890123456789"), uint16(12))
	f.Add([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x02\x62\x0c"+"01234567890123456789"), uint16(12))
	idx := make([]byte, 8+256*4+40)
	copy(idx, []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte, off uint16) {
		r := &Reader{}
		p := &pack{idx: idx, data: data}
		if _, out, err := r.packEntry(p, int(off), 1<<16, 0); err == nil && len(out) > 1<<16 {
			t.Fatalf("entry of %d bytes past the limit", len(out))
		}
	})
}
