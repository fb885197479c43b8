package store

import "context"

// MmapSize is the mmap_size of a connection of s's pool.
func MmapSize(ctx context.Context, s *Store) (n int64, err error) {
	err = s.db.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&n)
	return n, err
}
