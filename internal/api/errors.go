package api

import (
	"errors"
	"net/http"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// serverFault maps the refusals of internal/compute/api to nova's faults, as
// nova's servers controllers catch compute.API's exceptions. serverID is the
// id the request named, which nova's messages repeat; "" uses the
// instance's uuid. Other errors are returned as they are (a 500 from
// fault.Write).
func serverFault(err error, serverID string) error {
	var (
		notFound *computeapi.InstanceNotFoundError
		invalid  *computeapi.InstanceInvalidStateError
		notReady *computeapi.InstanceNotReadyError
		console  *computeapi.ConsoleNotAvailableError
		notSupp  *computeapi.NotSupportedError
		marker   *computeapi.MarkerNotFoundError
		noHost   *computeapi.NoValidHostError
		badValue *computedb.InvalidError
		locked   *computeapi.InstanceLockedError
		tooOld   *computeapi.ComputeTooOldError
		over     *computedb.OverQuotaError
		noGroup  *computeapi.InstanceGroupNotFoundError
		sameFlv  *computeapi.CannotResizeToSameFlavorError
		noDisk   *computeapi.CannotResizeDiskError
		noFlavor *computeapi.FlavorNotFoundError
		noMig    *computeapi.MigrationNotFoundError
		svcDown  *computeapi.ServiceUnavailableError
	)
	switch {
	case errors.As(err, &sameFlv), errors.As(err, &noDisk), errors.As(err, &noFlavor):
		// The resize's 400s (nova's CannotResizeToSameFlavor,
		// CannotResizeDisk, FlavorNotFound).
		return fault.BadRequest(err.Error())
	case errors.As(err, &noMig):
		return fault.BadRequest("Instance has not been resized.")
	case errors.As(err, &svcDown):
		return fault.Conflict(svcDown.Error())
	case errors.As(err, &notFound):
		id := serverID
		if id == "" {
			id = notFound.UUID
		}
		return fault.NotFound((&computeapi.InstanceNotFoundError{UUID: id}).Error())
	case errors.As(err, &invalid):
		// nova's raise_http_conflict_for_instance_invalid_state.
		e := *invalid
		if serverID != "" {
			e.UUID = serverID
		}
		return fault.Conflict(e.Error())
	case errors.As(err, &locked):
		// nova's InstanceIsLocked: 409.
		id := serverID
		if id == "" {
			id = locked.UUID
		}
		return fault.Conflict((&computeapi.InstanceLockedError{UUID: id}).Error())
	case errors.As(err, &tooOld):
		return fault.Conflict(tooOld.Error())
	case errors.As(err, &notReady):
		return fault.Conflict(notReady.Error())
	case errors.As(err, &console):
		return fault.NotFound(console.Error())
	case errors.As(err, &notSupp):
		return fault.New(http.StatusNotImplemented, notSupp.Error())
	case errors.As(err, &marker):
		return fault.BadRequest(marker.Error())
	case errors.As(err, &noHost):
		// Where nova's API raises NoValidHost synchronously (resize,
		// evacuate) it is a 400.
		return fault.BadRequest(noHost.Error())
	case errors.As(err, &over):
		// nova's servers and server groups controllers turn OverQuota
		// into a 403 with its message.
		return &fault.Error{Code: http.StatusForbidden, Message: over.Error(), Err: err}
	case errors.As(err, &noGroup):
		return fault.BadRequest(noGroup.Error())
	case errors.As(err, &badValue):
		// A value the store cannot hold that the request's validation let
		// through: nova's InvalidInput, naming the field, not the value.
		return &fault.Error{Code: http.StatusBadRequest, Message: "Invalid input received: " + badValue.Reason() + ".", Err: err}
	}
	return err
}
