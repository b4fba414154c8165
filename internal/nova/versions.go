package nova

import (
	"context"
	"fmt"
	"time"

	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/pkg/app"
)

// ServiceVersion is the service version nova's binaries record in their
// services rows (nova's SERVICE_VERSION): the last of the service version
// history (internal/compute/versions).
const ServiceVersion = versions.Current

// startCheckTimeout bounds the start-up read of the services table.
const startCheckTimeout = 30 * time.Second

// checkComputeVersions is nova's raise_if_old_compute, run once per process
// as its services are built (nova's Service.create and the API's app
// set-up): when the oldest live nova-compute row records a service version
// below the oldest this release supports, the process refuses to start with
// nova's TooOldComputeService message and exit code app.ExitConfig (the
// deployment mixes releases this one cannot talk to: upgrade those computes
// first, or delete their rows). [workarounds]
// disable_compute_service_check_for_ffu makes it a warning. No compute row
// at all (a fresh install) passes.
func (a *App) checkComputeVersions() error {
	if a.Services == nil {
		return nil
	}
	a.versionCheck.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startCheckTimeout)
		defer cancel()
		minimum, err := a.Services.MinimumVersion(ctx, ComputeBinary)
		if err != nil {
			a.versionCheckErr = &app.Error{Code: app.ExitDatabase, Err: fmt.Errorf("reading the nova-compute service versions: %w", err)}
			return
		}
		err = a.oldestSupported.Check(minimum)
		switch {
		case err == nil:
		case a.Cfg.Workarounds.DisableComputeServiceCheckForFFU:
			a.Log.Warn(err.Error(), "minimum_service_version", minimum, "oldest_supported_service_version", a.oldestSupported.Version,
				"workaround", "[workarounds] disable_compute_service_check_for_ffu")
		default:
			a.versionCheckErr = &app.Error{Code: app.ExitConfig, Err: err}
		}
	})
	return a.versionCheckErr
}
