// Command nova-manage administers gonova's database, as nova-manage does
// nova's:
//
//	nova-manage [--config-file FILE]... [--config-dir DIR] db sync [VERSION]
//	nova-manage [--config-file FILE]... [--config-dir DIR] db version
//	nova-manage [--config-file FILE]... [--config-dir DIR] flavor create-defaults
//
// "db sync" applies the embedded schema migrations up to the newest one (or to
// VERSION); running it again is harmless, and two at once serialise on a
// database lock. Downgrades are refused, as nova refuses them. "db version"
// prints the applied schema version (0 for a database never synced).
// "flavor create-defaults" creates nova's classic m1.* flavors (m1.tiny to
// m1.xlarge, ids 1 to 5) that do not exist; running it again creates
// nothing, and a flavor of that id or name made by an admin is kept.
//
// The database is the [database] connection option of the configuration
// files. Exit status: 0 on success, 1 on failure, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/gmr"
)

const usage = `usage: nova-manage [--config-file FILE]... [--config-dir DIR] db sync [VERSION]
       nova-manage [--config-file FILE]... [--config-dir DIR] db version
       nova-manage [--config-file FILE]... [--config-dir DIR] flavor create-defaults
`

// errUsage marks errors that should print the usage and exit 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, rest, err := config.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "nova-manage: %v\n", err)
		return 2
	}
	err = dispatch(ctx, cfg, rest, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "nova-manage: %v\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "nova-manage: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, cfg *config.Config, rest []string, stdout io.Writer) error {
	if len(rest) >= 1 && rest[0] == "flavor" {
		if len(rest) != 2 || rest[1] != "create-defaults" {
			return fmt.Errorf("%w: expected \"flavor create-defaults\"", errUsage)
		}
		return createDefaultFlavors(ctx, cfg, stdout)
	}
	if len(rest) < 2 || rest[0] != "db" {
		return fmt.Errorf("%w: expected a command such as \"db sync\"", errUsage)
	}
	switch rest[1] {
	case "sync":
		if len(rest) > 3 {
			return fmt.Errorf("%w: db sync takes at most one VERSION", errUsage)
		}
		var target int64
		if len(rest) == 3 {
			v, err := strconv.ParseInt(rest[2], 10, 64)
			if err != nil || v < 1 {
				return fmt.Errorf("%w: VERSION %q is not a positive integer", errUsage, gmr.MaskURL(rest[2]))
			}
			target = v
		}
		return dbSync(ctx, cfg, target, stdout)
	case "version":
		if len(rest) != 2 {
			return fmt.Errorf("%w: db version takes no arguments", errUsage)
		}
		return dbVersion(ctx, cfg, stdout)
	default:
		return fmt.Errorf("%w: unknown db command %q", errUsage, gmr.MaskURL(rest[1]))
	}
}

// openPool connects to [database] connection. The in-memory store (an empty
// connection or memory://) has no schema to manage.
func openPool(ctx context.Context, cfg *config.Config) (*pgxpool.Pool, error) {
	conn := cfg.Database.Connection
	if conn == "" || strings.HasPrefix(conn, "memory://") {
		return nil, errors.New("[database] connection is not set to a Postgres URL: the in-memory store has no schema to manage; set it to postgresql://user:password@host:5432/nova")
	}
	return db.OpenWith(ctx, config.NormalizeDatabaseURL(conn), db.Options{ApplicationName: "nova-manage", MaxPoolSize: 2})
}

func dbSync(ctx context.Context, cfg *config.Config, target int64, stdout io.Writer) error {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	var res db.Result
	if target == 0 {
		res, err = db.Migrate(ctx, pool)
	} else {
		res, err = db.MigrateTo(ctx, pool, target)
	}
	for _, v := range res.Applied {
		fmt.Fprintf(stdout, "applied migration %d\n", v)
	}
	if err != nil {
		return err
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(stdout, "database schema is up to date at version %d\n", res.To)
	}
	return nil
}

func dbVersion(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	v, err := db.Version(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, v)
	return nil
}

// createDefaultFlavors is "flavor create-defaults".
func createDefaultFlavors(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := computedb.CreateDefaultFlavors(ctx, computedb.NewPG(pool))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %d of the %d default flavors\n", n, len(computedb.DefaultFlavors))
	return nil
}
