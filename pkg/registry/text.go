package registry

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// MaxID is the largest id a services row can have: the id column is a
// Postgres integer (serial), as in nova's table.
const MaxID = math.MaxInt32

// ValidID reports whether id can name a row at all. Stores answer ErrNotFound
// for the others without asking the database, which would refuse to compare
// an integer column with a larger number.
func ValidID(id int64) bool { return id >= 1 && id <= MaxID }

// CheckText returns an ErrInvalid naming field unless s is what a
// varchar(MaxFieldLength) column accepts: valid UTF-8, no NUL character, at
// most MaxFieldLength characters. Both stores call it, so the in-memory store
// refuses exactly what Postgres refuses. The value itself is never quoted:
// it came from outside and may be long, binary or secret.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s contains a NUL character", ErrInvalid, field)
	}
	if n := utf8.RuneCountInString(s); n > MaxFieldLength {
		return fmt.Errorf("%w: %s is %d characters long, at most %d allowed", ErrInvalid, field, n, MaxFieldLength)
	}
	return nil
}

// Validate checks a filter's values as CheckText does.
func (f Filter) Validate() error {
	if err := CheckText("host", f.Host); err != nil {
		return err
	}
	return CheckText("binary", f.Binary)
}
