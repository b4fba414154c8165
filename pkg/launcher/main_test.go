package launcher

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs a helper main instead of the tests when the test binary is
// re-executed as a child process (see helper_test.go).
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	goleak.VerifyTestMain(m)
}
