package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/mattn/go-sqlite3"
)

// Seed makes a new view at dst as a copy of the view at src, so that a new
// actor's first command catches up from where src is instead of folding
// the whole WAL: on 10,000 issues that is a copy of a few milliseconds
// instead of a rebuild of more than a second. The view holds nothing of
// its actor (events, the projection, cached lock refs and the WAL head they
// were read at are the same for every actor of a clone), so any view of the
// same schema will do; the caller then catches the copy up as usual.
//
// The copy is SQLite's online backup, one step under one read transaction:
// a consistent snapshot even while src's own processes write to it. It is
// written beside dst and linked into place only if dst does not exist yet,
// so a view another process created meanwhile is never replaced. A src of
// another schema is refused (ErrNotSeedable), leaving dst absent.
func Seed(ctx context.Context, dst, src string) error {
	tmp := dst + ".seed-" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	defer func() { _ = os.Remove(tmp) }()
	if err := backup(ctx, tmp, src); err != nil {
		return err
	}
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil // another process made the view first: use that one
		}
		return err
	}
	return nil
}

// ErrNotSeedable reports a source view that cannot seed another: of
// another schema, or not a view.
var ErrNotSeedable = errors.New("view cannot seed another")

func backup(ctx context.Context, tmp, src string) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	from := sql.OpenDB(connector{dsn: "file:" + src + "?_busy_timeout=" + strconv.Itoa(int(busyTimeout.Milliseconds())), mapped: true})
	defer func() { _ = from.Close() }()
	var v string
	if err := from.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='schema'`).Scan(&v); err != nil {
		return fmt.Errorf("%w: %v", ErrNotSeedable, mapErr(err))
	}
	if v != schemaVersion {
		return fmt.Errorf("%w: schema %s, want %s", ErrNotSeedable, v, schemaVersion)
	}
	to := sql.OpenDB(plainConnector{"file:" + tmp + "?_journal_mode=OFF&_synchronous=OFF&_locking_mode=EXCLUSIVE&_cache_size=64"})
	defer func() { _ = to.Close() }()
	fc, err := from.Conn(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer fc.Close()
	tc, err := to.Conn(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer tc.Close()
	return tc.Raw(func(tdc any) error {
		return fc.Raw(func(fdc any) error {
			tconn, ok1 := tdc.(*sqlite3.SQLiteConn)
			fconn, ok2 := fdc.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("view connections are not SQLite's")
			}
			b, err := tconn.Backup("main", fconn, "main")
			if err != nil {
				return mapErr(err)
			}
			if _, err := b.Step(-1); err != nil {
				_ = b.Finish()
				return mapErr(err)
			}
			return mapErr(b.Finish())
		})
	})
}

type plainConnector struct{ dsn string }

var plainDriver = &sqlite3.SQLiteDriver{}

func (c plainConnector) Connect(context.Context) (driver.Conn, error) { return plainDriver.Open(c.dsn) }
func (c plainConnector) Driver() driver.Driver                        { return plainDriver }
