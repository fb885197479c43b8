// Package e2e holds the end-to-end tests of the grite binary: each test
// builds the real command once, runs it as child processes in real
// temporary git repositories and checks exit codes, output streams and that
// nothing already recorded is ever lost. It has no non-test code.
package e2e
