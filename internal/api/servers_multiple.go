package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// multipleCreate is what a POST /servers body asks of nova's multiple
// create: how many servers (min_count to max_count) and whether the answer
// is the reservation id instead of the first server.
type multipleCreate struct {
	minCount, maxCount  int
	returnReservationID bool
}

// checkMultipleCreate validates nova's multiple create keys as its schema
// and create do: min_count and max_count are parameter_types.positive_integer
// (integers or strings of digits, at least 1), min_count defaults to 1 and
// max_count to min_count, and min_count must not exceed max_count;
// return_reservation_id is a boolean. A count beyond what an int32 holds is
// taken as the largest one (nova takes any; its quota refuses it).
func checkMultipleCreate(srv map[string]any) (multipleCreate, error) {
	m := multipleCreate{minCount: 1, maxCount: -1}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"min_count", &m.minCount}, {"max_count", &m.maxCount}} {
		if raw, ok := srv[f.name]; ok {
			n, err := checkPositiveInteger(f.name, raw)
			if err != nil {
				return m, err
			}
			*f.dst = n
		}
	}
	if m.maxCount == -1 {
		m.maxCount = m.minCount
	}
	if raw, ok := srv["return_reservation_id"]; ok {
		ret, err := checkBoolean("return_reservation_id", raw)
		if err != nil {
			return m, err
		}
		m.returnReservationID = ret
	}
	return m, nil
}

// checkPositiveInteger is nova's parameter_types.positive_integer
// ({'type': ['integer', 'string'], 'pattern': '^[0-9]*$', 'minimum': 1,
// 'minLength': 1}) with nova's messages: its validator compares a string of
// digits with the minimum as the number it spells.
func checkPositiveInteger(name string, v any) (int, error) {
	if s, ok := v.(string); ok {
		switch {
		case s == "":
			return 0, invalidField(name, v, "'' is too short")
		case !integerPatterns[nonNegativePattern].MatchString(s):
			return 0, invalidField(name, v, fmt.Sprintf("%s does not match '^[0-9]*$'", wsgi.PyRepr(s)))
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > math.MaxInt32 {
			n = math.MaxInt32 // digits beyond int32: the largest count
		}
		if n < 1 {
			return 0, invalidField(name, v, fmt.Sprintf("%d is less than the minimum of 1", n))
		}
		return int(n), nil
	}
	n, err := checkIntegerish(name, v, false, false, 1)
	if err != nil {
		return 0, err
	}
	return int(*n), nil
}

// checkCount is servers.py's check after the schema: min_count <= max_count.
func (m multipleCreate) checkCount() error {
	if m.minCount > m.maxCount {
		return fault.BadRequest("min_count must be <= max_count")
	}
	return nil
}

// checkNetworksForMany is compute.API.create's refusal of networks that
// cannot be shared by several servers (max_count > 1): a fixed IP on a
// network (InvalidFixedIpAndMaxCountRequest), then a port
// (MultiplePortsNotApplicable). networks was validated by checkNetworks.
func checkNetworksForMany(networks any, maxCount int) error {
	list, ok := networks.([]any)
	if !ok || maxCount <= 1 {
		return nil
	}
	has := func(n map[string]any, k string) bool {
		s, ok := n[k].(string)
		return ok && s != ""
	}
	for _, item := range list {
		if n, ok := item.(map[string]any); ok && has(n, "uuid") && has(n, "fixed_ip") {
			return fault.BadRequest("Failed to launch instances: max_count cannot be greater than 1 if an fixed_ip is specified.")
		}
	}
	for _, item := range list {
		if n, ok := item.(map[string]any); ok && has(n, "port") {
			return fault.BadRequest("Failed to launch instances: Unable to launch multiple instances with a single configured port ID. " +
				"Please launch your instance one by one with different ports.")
		}
	}
	return nil
}

// writeReservation writes the 202 body of a create with return_reservation_id:
// nova's {"reservation_id": ...}, without the server or a Location.
func writeReservation(w http.ResponseWriter, id string) {
	writeJSON(w, http.StatusAccepted, map[string]any{"reservation_id": id})
}
