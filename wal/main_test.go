package wal_test

import (
	"testing"

	"grite/internal/testrepo"
)

// TestMain removes the benchmarks' repositories once every benchmark has
// run (testrepo.NewForBench says why not sooner).
func TestMain(m *testing.M) { testrepo.RunMain(m) }
