package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// checkQueryKeysFrom275 is nova's query schemas' additionalProperties: true
// before 2.75 (unknown parameters are ignored) and false from 2.75, where
// an unknown one is refused as jsonschema words it.
func checkQueryKeysFrom275(r *http.Request, known ...string) error {
	if !microversion.FromContext(r.Context()).AtLeast(2, 75) {
		return nil
	}
	return checkQueryKeys(r.URL.Query(), known...)
}

// checkQueryKeys refuses the query parameters not in allowed, as nova's
// query schemas with additionalProperties false do.
func checkQueryKeys(q url.Values, allowed ...string) error {
	var extra []string
	for k := range q {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	return fault.BadRequest(additionalProperties(extra))
}

// additionalProperties is jsonschema's message for the unexpected keys
// extra (sorted here), as nova returns it.
func additionalProperties(extra []string) string {
	slices.Sort(extra)
	quoted := make([]string, len(extra))
	for i, k := range extra {
		quoted[i] = wsgi.PyRepr(k)
	}
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	return fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(quoted, ", "), verb)
}

// queryNonNegative validates every value of the query parameter name as
// parameter_types.non_negative_integer and returns the last one (webob's
// GET.get), ok false when absent.
func queryNonNegative(r *http.Request, name string) (int64, bool, error) {
	vals := r.URL.Query()[name]
	if len(vals) == 0 {
		return 0, false, nil
	}
	var n int64
	for _, s := range vals {
		if !integerPatterns[nonNegativePattern].MatchString(s) || s == "" {
			msg := fmt.Sprintf("%s does not match %s", wsgi.PyRepr(s), wsgi.PyRepr(nonNegativePattern))
			if s == "" {
				msg = "'' is too short"
			}
			return 0, false, invalidQuery(name, s, msg)
		}
		n = 0
		for _, c := range s {
			if n > 1<<40 {
				break // clamp: far beyond any list
			}
			n = n*10 + int64(c-'0')
		}
	}
	return n, true, nil
}
