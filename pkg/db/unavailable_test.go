package db

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestClassifyMarksOutagesOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A real refused connection: nothing listens on port 1.
	cfg, err := pgxpool.ParseConfig("postgresql://nova@127.0.0.1:1/nova?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, qerr := pool.Exec(ctx, "SELECT 1")
	if qerr == nil {
		t.Fatal("a query on a closed port succeeded")
	}
	got := Classify(fmt.Errorf("store: listing: %w", qerr))
	if !errors.Is(got, ErrUnavailable) {
		t.Fatalf("a refused connection is not ErrUnavailable: %v", got)
	}
	var u interface{ ServiceUnavailable() bool }
	if !errors.As(got, &u) || !u.ServiceUnavailable() {
		t.Fatal("the classified error does not offer ServiceUnavailable for pkg/wsgi/fault")
	}
	if Classify(got) != got {
		t.Error("classifying twice wraps twice")
	}
	for _, code := range []string{"08006", "57P01", "57P03", "53300"} {
		if !IsConnectionError(&pgconn.PgError{Code: code}) {
			t.Errorf("SQLSTATE %s is not a connection error", code)
		}
	}
	for _, err := range []error{
		&pgconn.PgError{Code: "23505"}, // unique violation: the request's fault
		&pgconn.PgError{Code: "22021"}, // invalid UTF-8
		context.Canceled,               // the client went away
		errors.New("no rows"),
	} {
		if errors.Is(Classify(err), ErrUnavailable) {
			t.Errorf("%v was marked unavailable", err)
		}
	}
	if !IsInvalidInput(&pgconn.PgError{Code: "22001"}) || IsInvalidInput(&pgconn.PgError{Code: "23505"}) {
		t.Error("IsInvalidInput does not follow SQLSTATE class 22")
	}
}
