package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

func TestServerFaultMapsComputeAPIRefusals(t *testing.T) {
	const urlID = "AAAAAAAA-1111-4111-8111-111111111111"
	const uuid = "aaaaaaaa-1111-4111-8111-111111111111"
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	for _, c := range []struct {
		err  error
		id   string
		code int
		msg  string
	}{
		{&computeapi.InstanceNotFoundError{UUID: uuid}, urlID, 404, "Instance " + urlID + " could not be found."},
		{wrap(&computeapi.InstanceNotFoundError{UUID: uuid}), "", 404, "Instance " + uuid + " could not be found."},
		{&computeapi.InstanceInvalidStateError{UUID: uuid, Action: "reboot", Attr: "vm_state", State: "building"}, urlID, 409,
			"Cannot 'reboot' instance " + urlID + " while it is in vm_state building"},
		{&computeapi.InstanceNotReadyError{UUID: uuid}, urlID, 409, "Instance " + uuid + " is not ready"},
		{wrap(&computeapi.ConsoleNotAvailableError{UUID: uuid}), urlID, 404, "Guest does not have a console available."},
		{&computeapi.NotSupportedError{Action: "get_console_output"}, urlID, http.StatusNotImplemented, "Action is not supported."},
		{&computeapi.MarkerNotFoundError{Marker: "m"}, "", 400, "marker [m] not found"},
		{&computeapi.NoValidHostError{Reason: "There are not enough hosts available."}, "", 400,
			"No valid host was found. There are not enough hosts available."},
	} {
		var fe *fault.Error
		if !errors.As(serverFault(c.err, c.id), &fe) || fe.Code != c.code || fe.Message != c.msg {
			t.Errorf("%v: %+v, want %d %q", c.err, fe, c.code, c.msg)
		}
	}
	other := errors.New("database gone")
	if got := serverFault(other, urlID); got != other {
		t.Errorf("an unexpected error became %v", got)
	}
}
