package computedb

import (
	"context"
	"errors"
	"time"
)

// KeyPair is one key_pairs row: a public key of a user, by name.
type KeyPair struct {
	ID          int64
	Name        string
	UserID      string
	Fingerprint string
	PublicKey   string
	Type        string // "ssh" or "x509"
	CreatedAt   time.Time
	UpdatedAt   *time.Time
}

// ErrKeyPairLimit means the user holds as many key pairs as allowed
// (nova's KeypairLimitExceeded).
var ErrKeyPairLimit = errors.New("computedb: too many key pairs")

// KeyPairStore keeps the users' key pairs.
type KeyPairStore interface {
	// CreateKeyPair stores kp unless its user has a key pair of that name
	// (ErrConflict) or holds maxPerUser of them already (ErrKeyPairLimit;
	// maxPerUser < 0 is no limit): the count and the insert are one
	// atomic step, so concurrent creates cannot pass the limit.
	CreateKeyPair(ctx context.Context, kp KeyPair, maxPerUser int) (KeyPair, error)
	// GetKeyPair is the user's key pair of that name, or ErrNotFound.
	GetKeyPair(ctx context.Context, userID, name string) (KeyPair, error)
	// ListKeyPairs lists the user's key pairs in creation (id) order,
	// after the one named marker ("" from the first; an unknown one is
	// ErrNotFound), at most limit (0: all).
	ListKeyPairs(ctx context.Context, userID string, limit int, marker string) ([]KeyPair, error)
	// DeleteKeyPair removes the user's key pair of that name, or is
	// ErrNotFound.
	DeleteKeyPair(ctx context.Context, userID, name string) error
}

func checkKeyPair(kp KeyPair) error {
	var c checker
	if kp.Name == "" || kp.UserID == "" {
		return invalid("key pair", "needs a name and a user")
	}
	c.text("name", kp.Name, MaxFieldLength)
	c.text("user_id", kp.UserID, MaxFieldLength)
	c.text("fingerprint", kp.Fingerprint, MaxFieldLength)
	c.text("public_key", kp.PublicKey, unbounded)
	c.text("type", kp.Type, 16)
	return c.err
}

// checkLookup refuses what no row can hold: such a name names nothing.
func checkLookup(vs ...string) bool {
	var c checker
	for _, v := range vs {
		c.text("value", v, 1<<20)
	}
	return c.err == nil
}
