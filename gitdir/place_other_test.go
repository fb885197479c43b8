//go:build !linux

package gitdir_test

import "testing"

func unnamedFilesWork(t *testing.T, dir string) bool { return false }
