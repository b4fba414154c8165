package microversion

import (
	"context"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	good := map[string]Version{"2.1": {2, 1}, "2.53": {2, 53}, "2.0": {2, 0}, "10.100": {10, 100}}
	for s, want := range good {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("String() = %q, want %q", got.String(), s)
		}
	}
	for _, s := range []string{"", "2", "2.", ".1", "2.01", "02.1", "0.1", "2.1.1", " 2.1", "2.1 ", "v2.1", "-2.1", "2.-1", "latest", "2,1", "99999999999999999999.1"} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}

func TestCompare(t *testing.T) {
	v := MustParse("2.53")
	if !v.AtLeast(2, 53) || !v.AtLeast(2, 11) || v.AtLeast(2, 54) || v.AtLeast(3, 0) {
		t.Error("AtLeast is wrong")
	}
	if v.Before(2, 53) || !v.Before(2, 54) {
		t.Error("Before is wrong")
	}
	// 2.10 is above 2.9: minor versions compare as numbers, not strings.
	if MustParse("2.10").Compare(MustParse("2.9")) != 1 || MustParse("1.99").Compare(MustParse("2.0")) != -1 {
		t.Error("Compare is not numeric")
	}
	if !v.Matches(Min, DefaultMax) || MustParse("2.94").Matches(Min, DefaultMax) || MustParse("2.0").Matches(Min, DefaultMax) {
		t.Error("Matches is wrong")
	}
	if !MustParse("9.9").Matches(Min, Version{}) {
		t.Error("a null max must not bound")
	}
	if (Version{}).Matches(Min, DefaultMax) {
		t.Error("a null version matched")
	}
}

func TestContext(t *testing.T) {
	if !FromContext(context.Background()).IsNull() {
		t.Error("no version in an empty context must be null")
	}
	if FromContext(NewContext(context.Background(), MustParse("2.11"))) != (Version{2, 11}) {
		t.Error("context lost the version")
	}
}
