package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestPermanentKeepsTheTextAndTheChain(t *testing.T) {
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) is not nil")
	}
	base := fmt.Errorf("declaring queue %q: %w", "q", fs.ErrPermission)
	err := Permanent(base)
	if err.Error() != base.Error() {
		t.Fatalf("text %q, want %q", err, base)
	}
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("errors.Is lost ErrPermanent or the wrapped chain: %v", err)
	}
	wrapped := fmt.Errorf("rpcsvc: %w", err)
	if !errors.Is(wrapped, ErrPermanent) {
		t.Fatal("wrapping a permanent error hides ErrPermanent")
	}
	if again := Permanent(wrapped); again != wrapped {
		t.Fatal("marking a permanent error twice wraps it again")
	}
	if errors.Is(base, ErrPermanent) || errors.Is(ErrNotConnected, ErrPermanent) {
		t.Fatal("an unmarked error is permanent")
	}
}
