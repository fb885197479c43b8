// Package crdt folds grite events into issue state. It is pure (no git, no
// SQLite, no clock) and order-independent: any arrival order of the same set
// of events, with duplicates, yields the same state, equal to the original
// grite's rebuild order (docs/format.md §10). Events for an issue whose creation
// has not been seen are kept and take effect once it arrives.
package crdt
