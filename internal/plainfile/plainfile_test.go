package plainfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"grite/internal/plainfile"
)

// ReadFile and ReadShared return what os.ReadFile does, for files of
// every size around the buffer's, and the same kind of error for what is
// not there.
func TestReadFileMatchesOS(t *testing.T) {
	for _, read := range []struct {
		name string
		fn   func(string) ([]byte, error)
	}{{"ReadFile", plainfile.ReadFile}, {"ReadShared", plainfile.ReadShared}} {
		t.Run(read.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range []int{0, 1, 41, 511, 512, 513, 4096, 100000} {
				p := filepath.Join(dir, "f")
				want := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
				if err := os.WriteFile(p, want, 0o644); err != nil {
					t.Fatal(err)
				}
				got, err := read.fn(p)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%d bytes: got %d bytes, %v", n, len(got), err)
				}
			}
			if _, err := read.fn(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("missing file: %v", err)
			}
			if _, err := read.fn(filepath.Join(dir, "f", "below-a-file")); err == nil {
				t.Fatal("read below a file")
			}
		})
	}
}

// ReadShared, racing a writer that rewrites a file in place now and then
// (as hot ref updates do, under an exclusive flock) with one of two values
// of one length, returns one of the two whole. (ReadFile does not: it
// returns a mix within a few thousand reads.)
func TestReadSharedRacingInPlaceWrites(t *testing.T) {
	testRacingReads(t, plainfile.ReadShared)
}

func testRacingReads(t *testing.T, read func(string) ([]byte, error)) {
	p := filepath.Join(t.TempDir(), "f")
	values := [][]byte{bytes.Repeat([]byte{'a'}, 4000), bytes.Repeat([]byte{'b'}, 4000)}
	if err := os.WriteFile(p, values[0], 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 5000 {
			// As grite's hot refs are rewritten: under an exclusive flock.
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				t.Error(err)
				return
			}
			_, err := f.WriteAt(values[i%2], 0)
			if uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err == nil {
				err = uerr
			}
			if err != nil {
				t.Error(err)
				return
			}
			for start := time.Now(); time.Since(start) < 20*time.Microsecond; {
			}
		}
	}()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			return
		default:
		}
		got, err := read(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, values[0]) && !bytes.Equal(got, values[1]) {
			t.Fatalf("read %d: a mix of the two values", reads)
		}
	}
}
