package plainfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"grite/internal/plainfile"
)

// ReadFile returns what os.ReadFile does, for files of every size around
// its buffer's, and the same kind of error for what is not there.
func TestReadFileMatchesOS(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 41, 511, 512, 513, 4096, 100000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := plainfile.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: got %d bytes, %v", n, len(got), err)
		}
	}
	if _, err := plainfile.ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := plainfile.ReadFile(filepath.Join(dir, "f", "below-a-file")); err == nil {
		t.Fatal("read below a file")
	}
}

// OpenFile honours its flags as os.OpenFile does: exclusive creation
// fails on an existing file, appends append, the mode is set.
func TestOpenFileFlags(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := plainfile.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := plainfile.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second exclusive create: %v", err)
	}
	f, err = plainfile.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("two\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "one\ntwo\n" {
		t.Fatalf("content %q, %v", b, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
}
