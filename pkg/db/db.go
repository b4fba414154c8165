package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonova/gonova/pkg/internal/urlcheck"
)

// OptionName is how errors name the setting a bad URL came from, so an
// operator knows which line of nova.conf to fix.
const OptionName = "[database] connection"

// Options tune the pool beyond what the URL says. The zero value is fine.
type Options struct {
	// MaxPoolSize is nova's max_pool_size ([database]): the most connections
	// the pool keeps open. 0 means a pool_max_conns parameter in the URL, or
	// else DefaultMaxPoolSize.
	MaxPoolSize int
	// ApplicationName is reported to Postgres (pg_stat_activity); empty means
	// an application_name parameter in the URL, or else the program's name.
	ApplicationName string
}

// DefaultMaxPoolSize is the pool size when neither Options nor the URL set
// one: enough for a service's heartbeat, periodic tasks and a handful of
// concurrent requests on a small machine, and never fewer than 4.
func DefaultMaxPoolSize() int { return max(4, 2*runtime.NumCPU()) }

// Pool defaults that suit a long-running service.
const (
	defaultConnectTimeout    = 10 * time.Second
	defaultHealthCheckPeriod = 30 * time.Second
	defaultMaxConnIdleTime   = 5 * time.Minute
	defaultMaxConnLifetime   = time.Hour
)

// Open parses url (the [database] connection option, e.g.
// postgresql://nova:secret@db:5432/nova), creates a pgx pool and checks that the
// server answers. See OpenWith.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	return OpenWith(ctx, url, Options{})
}

// OpenWith is Open with explicit pool options. SQLAlchemy-style schemes as
// nova writes them (postgresql+psycopg2://) are accepted. The pool is pinged
// once; on failure it is closed and the error says that the server did not
// answer. The caller closes the pool, last, after every user of it has stopped.
func OpenWith(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := ParseConfig(url, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: %s: creating pool: %w", OptionName, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: %s: database %q on %s:%d did not answer: %w",
			OptionName, cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// ParseConfig turns url and opts into a pool configuration without connecting.
// Errors name the option and the part of the URL that is wrong, in gonova's
// words: they never contain the URL or any part of it, since a malformed URL
// may hold its password anywhere (pgx's errors quote the URL, redacted only as
// far as pgx could parse it).
func ParseConfig(url string, opts Options) (*pgxpool.Config, error) {
	if strings.TrimSpace(url) == "" {
		return nil, fmt.Errorf("db: %s is empty: set it to postgresql://user:password@host:5432/dbname", OptionName)
	}
	url = normalizeScheme(url)
	if strings.Contains(url, "://") {
		u, err := urlcheck.Parse(url)
		if err != nil {
			return nil, fmt.Errorf("db: %s is not a valid Postgres URL: %v", OptionName, err)
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return nil, fmt.Errorf("db: %s: unsupported scheme %q: gonova needs postgresql://user:password@host:5432/dbname", OptionName, u.Scheme)
		}
	}
	if opts.MaxPoolSize < 0 {
		return nil, fmt.Errorf("db: [database] max_pool_size = %d: must not be negative", opts.MaxPoolSize)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: %s is not a valid Postgres URL: %s", OptionName, pgxProblem(err))
	}
	if cfg.ConnConfig.Database == "" {
		return nil, fmt.Errorf("db: %s names no database: add /dbname to the URL", OptionName)
	}
	if opts.MaxPoolSize > 0 {
		cfg.MaxConns = int32(opts.MaxPoolSize)
	} else if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(DefaultMaxPoolSize())
	}
	if !strings.Contains(url, "pool_health_check_period") {
		cfg.HealthCheckPeriod = defaultHealthCheckPeriod
	}
	if !strings.Contains(url, "pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = defaultMaxConnIdleTime
	}
	if !strings.Contains(url, "pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = defaultMaxConnLifetime
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if opts.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = opts.ApplicationName
	} else if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = filepath.Base(os.Args[0])
	}
	return cfg, nil
}

// pgxProblem says what pgx refused, without pgx's error text: that quotes the
// connection string and wraps errors (strconv's, net/url's) that quote parts
// of it.
func pgxProblem(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return "pgx cannot use it"
	}
	// pgx's own description, without the connection string it quotes and
	// without the wrapped error.
	bare := *pe
	bare.ConnString = ""
	msg := strings.TrimPrefix(bare.Error(), "cannot parse ``: ")
	if inner := errors.Unwrap(pe); inner != nil {
		msg = strings.TrimSuffix(msg, " ("+inner.Error()+")")
	}
	switch {
	case msg == "invalid port":
		return "a port is not a number from 1 to 65535"
	case msg == "failed to configure TLS":
		return "the TLS parameters (sslmode, sslrootcert, sslcert, sslkey) are not valid: sslmode is one of disable, allow, prefer, require, verify-ca, verify-full"
	case msg == "invalid connect_timeout":
		return "connect_timeout is not a whole number of seconds"
	case strings.HasPrefix(msg, "failed to parse as"):
		return "it is neither a postgresql:// URL nor key=value pairs"
	case strings.HasPrefix(msg, "cannot parse pool_"), strings.HasSuffix(msg, " too small"):
		// "cannot parse pool_max_conns": pgx names the parameter only.
		return "the query parameter " + strings.TrimPrefix(msg, "cannot parse ") + " is not valid"
	}
	return "a connection parameter is not valid (check the query parameters)"
}

// normalizeScheme turns nova's SQLAlchemy URLs (postgresql+psycopg2://) into
// the plain form pgx takes.
func normalizeScheme(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	if base, _, hasDriver := strings.Cut(scheme, "+"); hasDriver {
		return base + "://" + rest
	}
	return url
}

// ErrNoSchema is returned by Version when the database has never been
// migrated (goose's version table does not exist).
var ErrNoSchema = errors.New("db: the database has no gonova schema yet: run nova-manage db sync")
