// Package archcheck holds only a test: it keeps the import direction of
// the architecture (pure core, one operations layer) checked.
package archcheck
