package api

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// Action names served on POST /servers/{id}/action.
const (
	actionReboot        = "reboot"
	actionConsoleOutput = "os-getConsoleOutput"
)

// serverAction is POST /servers/{id}/action. As nova's action dispatch: a
// body with other than one key is "Malformed message body: too many body
// keys", an unknown key "There is no such action".
func (h *handlers) serverAction(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if len(body) == 1 {
		for name, v := range body {
			if ah, ok := extraActions[name]; ok {
				arg, err := ah.parse(v, microversion.FromContext(r.Context()))
				if err == nil {
					err = ah.run(h, w, r, arg)
				}
				if err != nil {
					fault.Write(w, r, err)
				}
				return
			}
		}
	}
	act, err := parseAction(body)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	switch act.name {
	case actionReboot:
		err = h.reboot(w, r, act)
	case actionConsoleOutput:
		err = h.consoleOutput(w, r, act)
	}
	if err != nil {
		fault.Write(w, r, err)
	}
}

// serverActionBody is a validated action body.
type serverActionBody struct {
	name       string
	rebootType virt.RebootType
	length     *int // nil: whole console log
}

// parseAction validates an action body with nova's reboot and
// get_console_output schemas.
func parseAction(body map[string]any) (serverActionBody, error) {
	var a serverActionBody
	if len(body) != 1 {
		return a, fault.BadRequest("Malformed message body: too many body keys")
	}
	for k := range body {
		a.name = k
	}
	switch a.name {
	case actionReboot:
		obj, err := checkObject(actionReboot, body[actionReboot])
		if err != nil {
			return a, err
		}
		if err := checkKeys(actionReboot, obj, []string{"type"}); err != nil {
			return a, err
		}
		t, err := (stringRule{enum: []string{"HARD", "Hard", "hard", "SOFT", "Soft", "soft"}}).check("type", obj["type"])
		if err != nil {
			return a, err
		}
		a.rebootType = virt.RebootType(strings.ToUpper(t))
	case actionConsoleOutput:
		obj, err := checkObject(actionConsoleOutput, body[actionConsoleOutput])
		if err != nil {
			return a, err
		}
		if err := checkKeys(actionConsoleOutput, obj, nil, "length"); err != nil {
			return a, err
		}
		if raw, ok := obj["length"]; ok {
			n, err := checkIntegerish("length", raw, true, true, -1)
			if err != nil {
				return a, err
			}
			if n != nil && *n >= 0 { // -1 and null: the whole log
				l := int(min(*n, 1<<31-1))
				a.length = &l
			}
		}
	default:
		return a, fault.BadRequest("There is no such action: " + a.name)
	}
	return a, nil
}

// reboot is the reboot action: the server, the reboot policy on it, then
// compute.API's reboot (state checks, task state, cast); 202.
func (h *handlers) reboot(w http.ResponseWriter, r *http.Request, a serverActionBody) error {
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polServersReboot, false)
	if err != nil {
		return err
	}
	if err := h.capi.Reboot(r.Context(), h.computeCaller(r), computeapi.RebootRequest{Instance: in, Type: a.rebootType}); err != nil {
		return serverFault(err, id)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// consoleControl is what nova strips from console output.
var consoleControl = regexp.MustCompile("[\x00-\x08\x0B-\x1F]")

// consoleOutput is the os-getConsoleOutput action: compute.API's RPC call
// to the instance's host, bounded by the RPC timeout, with the control
// characters nova strips removed. As in nova an instance with no host is
// 409, ConsoleNotAvailable 404, a driver without consoles 501, and anything
// else (a timeout included) 500.
func (h *handlers) consoleOutput(w http.ResponseWriter, r *http.Request, a serverActionBody) error {
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polConsoleOutput, false)
	if err != nil {
		return err
	}
	out, err := h.capi.GetConsoleOutput(r.Context(), h.computeCaller(r), computeapi.ConsoleOutputRequest{Instance: in, Length: a.length})
	if err != nil {
		return serverFault(err, id)
	}
	writeJSON(w, http.StatusOK, map[string]string{"output": consoleControl.ReplaceAllString(out, "")})
	return nil
}
