package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// os-instance-actions policies, nova's.
const (
	polActionsList          = "os_compute_api:os-instance-actions:list"
	polActionsShow          = "os_compute_api:os-instance-actions:show"
	polActionsEvents        = "os_compute_api:os-instance-actions:events"
	polActionsEventsDetails = "os_compute_api:os-instance-actions:events:details"
)

// actionsServer is the server of an os-instance-actions request, deleted
// ones too from 2.21, checked against action on its project.
func (h *handlers) actionsServer(r *http.Request, action string) (computedb.Instance, error) {
	id := chi.URLParam(r, "id")
	c := h.computeCaller(r)
	var in computedb.Instance
	var err error
	if microversion.FromContext(r.Context()).AtLeast(2, 21) {
		in, err = h.capi.GetWithDeleted(r.Context(), c, id)
	} else {
		in, err = h.capi.Get(r.Context(), c, id)
	}
	if err != nil {
		return in, serverFault(err, id)
	}
	if err := h.enf.AuthorizeTarget(r.Context(), action, instanceTarget(in, false)); err != nil {
		return computedb.Instance{}, err
	}
	return in, nil
}

// actionView is nova's _format_action: ACTION_KEYS, and updated_at from
// 2.58.
func instanceActionView(a computedb.Action, v microversion.Version) map[string]any {
	m := map[string]any{"action": a.Action, "instance_uuid": a.InstanceUUID, "request_id": a.RequestID,
		"user_id": a.UserID, "project_id": a.ProjectID, "start_time": a.StartTime.UTC().Format(novaTimeLayout),
		"message": nullString(a.Message)}
	if v.AtLeast(2, 58) {
		m["updated_at"] = nullTime(a.UpdatedAt, novaTimeLayout)
	}
	return m
}

// actionListQuery validates nova's list_query_params_v258/v266: limit,
// marker, changes-since and (2.66) changes-before, nothing else.
func actionListQuery(q url.Values, v microversion.Version) (f computedb.ActionFilter, err error) {
	allowed := []string{"limit", "marker", "changes-since"}
	if v.AtLeast(2, 66) {
		allowed = append(allowed, "changes-before")
	}
	if err := checkQueryKeys(q, allowed...); err != nil {
		return f, err
	}
	for _, k := range []string{"changes-since", "changes-before"} {
		for _, s := range q[k] {
			if _, err := parseISOTime(s); err != nil {
				return f, invalidQuery(k, s, fmt.Sprintf("%s is not a 'date-time'", wsgi.PyRepr(s)))
			}
		}
	}
	var since, before *time.Time
	if q.Has("changes-since") {
		t, _ := parseISOTime(lastValue(q["changes-since"]))
		since = &t
	}
	if q.Has("changes-before") {
		t, _ := parseISOTime(lastValue(q["changes-before"]))
		if since != nil && t.Before(*since) {
			return f, fault.BadRequest("The value of changes-since must be less than or equal to changes-before.")
		}
		before = &t
	}
	f.ChangesSince, f.ChangesBefore = since, before
	return f, nil
}

// listInstanceActions is GET /servers/{id}/os-instance-actions: the
// server's actions, newest first; from 2.58 paged (limit, marker: a request
// id), filtered by changes-since (2.66 changes-before), with updated_at and
// a next link when a page is full.
func (h *handlers) listInstanceActions(w http.ResponseWriter, r *http.Request) {
	v := microversion.FromContext(r.Context())
	var f computedb.ActionFilter
	limit, marker := 0, ""
	if v.AtLeast(2, 58) {
		var err error
		q := r.URL.Query()
		if f, err = actionListQuery(q, v); err != nil {
			fault.Write(w, r, err)
			return
		}
		if limit, marker, _, err = h.pageParams(q); err != nil {
			fault.Write(w, r, err)
			return
		}
	}
	in, err := h.actionsServer(r, polActionsList)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	f.InstanceUUID, f.Limit, f.Marker = in.UUID, limit, marker
	var list []computedb.Action
	if !v.AtLeast(2, 58) || limit > 0 {
		list, err = h.compute.ListActions(r.Context(), f)
		if errorsIsNotFound(err) {
			fault.Write(w, r, fault.BadRequest(fmt.Sprintf("Marker %s could not be found.", marker)))
			return
		}
		if err != nil {
			fault.Write(w, r, err)
			return
		}
	}
	out := make([]map[string]any, len(list))
	for i, a := range list {
		out[i] = instanceActionView(a, v)
	}
	body := map[string]any{"instanceActions": out}
	if v.AtLeast(2, 58) && len(list) > 0 && len(list) == limit {
		body["links"] = []link{nextLink(r, "/v2.1/servers/"+chi.URLParam(r, "id")+"/os-instance-actions", limit, list[len(list)-1].RequestID)}
	}
	writeJSON(w, http.StatusOK, body)
}

// showInstanceAction is GET /servers/{id}/os-instance-actions/{request_id}:
// the action and, as nova decides, its events: all of them with their
// traceback for a caller the events policy allows (with host from 2.62);
// from 2.51 to anyone else without traceback; hostId from 2.62; details
// from 2.84 under events:details.
func (h *handlers) showInstanceAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	in, err := h.actionsServer(r, polActionsShow)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	reqID := chi.URLParam(r, "request_id")
	a, err := h.compute.GetAction(ctx, in.UUID, reqID)
	if errorsIsNotFound(err) {
		fault.Write(w, r, fault.NotFound(fmt.Sprintf("Action %s not found", reqID)))
		return
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	view := instanceActionView(a, v)
	target := instanceTarget(in, false)
	showEvents, showTraceback, showHost := false, false, false
	if h.enf.Allowed(ctx, polActionsEvents, target) {
		showEvents, showTraceback, showHost = true, true, v.AtLeast(2, 62)
	} else if v.AtLeast(2, 51) {
		showEvents = true
	}
	if showEvents {
		showDetails := v.AtLeast(2, 84) && h.enf.Allowed(ctx, polActionsEventsDetails, target)
		evs, err := h.compute.ListEvents(ctx, a.ID)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		project := a.ProjectID
		if project == "" {
			project = in.ProjectID
		}
		out := make([]map[string]any, len(evs))
		for i, e := range evs {
			m := map[string]any{"event": e.Event, "start_time": e.StartTime.UTC().Format(novaTimeLayout),
				"finish_time": nullTime(e.FinishTime, novaTimeLayout), "result": nullString(e.Result)}
			if showTraceback {
				m["traceback"] = nullString(e.Traceback)
			}
			if showHost {
				m["host"] = nullString(e.Host)
			}
			if v.AtLeast(2, 62) {
				m["hostId"] = hostID(e.Host, project)
			}
			if showDetails {
				m["details"] = nullString(e.Details)
			}
			out[i] = m
		}
		view["events"] = out
	}
	writeJSON(w, http.StatusOK, map[string]any{"instanceAction": view})
}

func errorsIsNotFound(err error) bool { return errors.Is(err, computedb.ErrNotFound) }
