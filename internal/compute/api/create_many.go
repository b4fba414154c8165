package computeapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"

	"github.com/google/uuid"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/scheduler"
)

// CreateResult is what CreateServers made: nova's compute.API.create's
// (instances, reservation_id).
type CreateResult struct {
	// Instances are the request's instances in launch order (launch_index
	// 0..N-1), as last written.
	Instances []computedb.Instance
	// ReservationID is shared by every instance of the request.
	ReservationID string
}

// ErrInvalidCount means a CreateRequest's MinCount exceeds its MaxCount (the
// HTTP API refuses that first, with nova's 400).
var ErrInvalidCount = errors.New("computeapi: min_count must be <= max_count")

// counts are req's MinCount and MaxCount with nova's defaults: min_count 1,
// max_count min_count.
func (req CreateRequest) counts() (minCount, maxCount int, err error) {
	minCount, maxCount = max(req.MinCount, 1), req.MaxCount
	if maxCount <= 0 {
		maxCount = minCount
	}
	if minCount > maxCount {
		return 0, 0, ErrInvalidCount
	}
	return minCount, maxCount, nil
}

// reservationChars are nova's generate_random_string characters (its '0'
// twice included, so ids are drawn as nova draws them).
const reservationChars = "01234567890abcdefghijklmnopqrstuvwxyz"

// newReservationID is nova's utils.generate_uid('r'): "r-" and 8 random
// characters, from a cryptographic source.
func newReservationID() string {
	b := []byte("r-........")
	for i := 2; i < len(b); i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(reservationChars))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = reservationChars[n.Int64()]
	}
	return string(b)
}

// instanceName is nova 26's _populate_instance_names: one instance keeps
// the requested name; of several, each is name-1, name-2, ... (launch_index
// + 1). nova 26 has no multi_instance_display_name_template any more (it
// was removed in Rocky): the suffix is fixed.
func instanceName(name string, count, index int) string {
	if count <= 1 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, index+1)
}

// CreateServers is nova's create with min_count and max_count: one request
// boots N instances, each its own row (its uuid, the request's reservation
// id, launch_index 0..N-1, names as instanceName), each placed by the
// scheduler with its own claim and built by a build_and_run_instance cast
// to its host.
//
// N is MaxCount. nova checks the quota for MaxCount instances and, when
// that is over quota, retries with what the headroom allows as long as it
// is at least MinCount (compute.utils.check_num_instances_quota); gonova's
// quota check belongs at the marked place below, before any row is made.
//
// Scheduling is all or nothing, as nova's scheduler (_ensure_sufficient_hosts)
// and conductor (_bury_in_cell0) do it: the instances are placed one after
// the other; when one fits nowhere, the claims already taken for the
// request are released and every instance of it goes to vm_state error
// with the NoValidHost fault. MinCount does not lower that bar: nova
// schedules the N instances the quota allowed, and fewer hosts than N is
// NoValidHost for all of them. Nothing is cast before every instance is
// placed. Each claim is atomic in the store, so requests in any number of
// API processes never overcommit a node; two concurrent requests may both
// fail where one alone would have fit, as in nova.
//
// As Create, failures after the rows exist are the instances' (error state
// and fault) and not the request's, except store failures. A row that
// cannot be created (a name made too long by its suffix) removes the rows
// made before it, as nova's _cleanup_build_artifacts does, and is the
// request's error.
func (a *API) CreateServers(ctx context.Context, c Caller, req CreateRequest) (CreateResult, error) {
	minCount, maxCount, err := req.counts()
	if err != nil {
		return CreateResult{}, err
	}
	var group *computedb.ServerGroup
	if req.Group != "" {
		g, err := a.compute.GetServerGroup(ctx, req.Group)
		if errors.Is(err, computedb.ErrNotFound) {
			return CreateResult{}, &InstanceGroupNotFoundError{UUID: req.Group}
		}
		if err != nil {
			return CreateResult{}, err
		}
		group = &g
	}
	// nova's check_num_instances_quota: max_count instances if the quota
	// has room for them, else as many as it has room for down to
	// min_count. Each row is then inserted under the atomic quota check,
	// so a concurrent request cannot push the project over.
	count, err := a.quotas.InstancesWithin(ctx, c.ProjectID, c.UserID, req.Flavor.VCPUs, req.Flavor.MemoryMB, minCount, maxCount)
	if err != nil {
		return CreateResult{}, err
	}
	res := CreateResult{ReservationID: newReservationID()}
	log := a.logger(c).With("reservation_id", res.ReservationID)
	for i := range count {
		id := uuid.NewString()
		hostname := req.Hostname
		if hostname == "" {
			hostname = SanitizeHostname(req.Name, "Server-"+id)
		}
		if count > 1 {
			hostname = fmt.Sprintf("%s-%d", hostname, i+1) // nova's multi-instance hostnames
		}
		inst, err := a.compute.CreateInstanceInQuota(ctx, computedb.Instance{
			UUID: id, DisplayName: instanceName(req.Name, count, i), UserID: c.UserID, ProjectID: c.ProjectID,
			Description: req.Description, Hostname: hostname, ReservationID: res.ReservationID, LaunchIndex: i,
			VMState: states.VMBuilding, TaskState: states.TaskScheduling, FlavorID: req.Flavor.ID,
			VCPUs: req.Flavor.VCPUs, MemoryMB: req.Flavor.MemoryMB, RootGB: req.Flavor.RootGB, ImageRef: req.ImageRef,
			Metadata: req.Metadata, AvailabilityZone: req.AvailabilityZone, KeyName: req.KeyName, Tags: req.Tags,
			Flavor: computedb.InstanceFlavor{Name: req.Flavor.Name, EphemeralGB: req.Flavor.EphemeralGB, Swap: req.Flavor.Swap,
				RXTXFactor: req.Flavor.RXTXFactor, ExtraSpecs: req.Flavor.ExtraSpecs},
		}, computedb.InstanceQuota{Defaults: a.quotas.Defaults(), Group: req.Group})
		if errors.Is(err, computedb.ErrNotFound) && group != nil {
			err = &InstanceGroupNotFoundError{UUID: req.Group} // deleted meanwhile
		}
		if err != nil {
			a.removeCreated(ctx, log, res.Instances)
			return CreateResult{}, err
		}
		log.InfoContext(ctx, "server created", "instance_uuid", inst.UUID, "name", inst.DisplayName, "flavor", req.Flavor.Name,
			"project_id", inst.ProjectID, "launch_index", i, "count", count)
		if err := a.recordAction(ctx, c, inst, ActionCreate); err != nil {
			log.WarnContext(ctx, "the create action is not recorded", "instance_uuid", inst.UUID, "error", err)
		}
		res.Instances = append(res.Instances, inst)
	}
	bctx, cancel := a.detached(ctx)
	defer cancel()
	bctx = rpcContext(bctx, c)
	placed, ok, err := a.placeAll(bctx, log, res.Instances, req, group)
	res.Instances = placed
	if !ok {
		return res, err
	}
	for i, inst := range res.Instances {
		if inst.Host == "" {
			continue // deleted while it was scheduled
		}
		if err := a.rpc.BuildAndRunInstance(bctx, inst); err != nil {
			log.ErrorContext(ctx, "build_and_run_instance cast failed; setting instance to ERROR state",
				"instance_uuid", inst.UUID, "host", inst.Host, "error", err)
			res.Instances[i] = a.setError(bctx, inst, buildCastFault(inst.Host, err))
		}
	}
	return res, nil
}

// placeAll schedules insts in order and returns them as placed (an
// instance deleted meanwhile as it was) and whether all were. When one fits
// nowhere, every instance is failed (failAll) with the NoValidHost reason
// and the error is nil: the request itself went through. Any other
// scheduling failure does the same with its reason and is returned.
func (a *API) placeAll(ctx context.Context, log *slog.Logger, insts []computedb.Instance, req CreateRequest, group *computedb.ServerGroup) ([]computedb.Instance, bool, error) {
	out := append([]computedb.Instance(nil), insts...)
	for i, inst := range insts {
		placed, err := a.schedule(ctx, inst, req, group)
		switch {
		case err == nil:
			out[i] = placed
			continue
		case errors.Is(err, computedb.ErrNotFound):
			log.InfoContext(ctx, "server deleted while it was scheduled", "instance_uuid", inst.UUID)
			continue
		case errors.Is(err, scheduler.ErrNoValidHost):
			if len(insts) > 1 {
				log.WarnContext(ctx, "fewer hosts than instances requested: setting every instance of the request to ERROR state",
					"requested", len(insts), "placed", i, "reason", err.Error())
			} else {
				log.WarnContext(ctx, "setting instance to ERROR state", "instance_uuid", inst.UUID, "reason", err.Error())
			}
			a.failAll(ctx, out, err.Error())
			return out, false, nil
		default:
			a.failAll(ctx, out, "Scheduling failed: "+err.Error())
			return out, false, err
		}
	}
	return out, true, nil
}

// failAll sets every instance of insts to error with reason, in place,
// releasing the claims the placed ones took and taking their host and node
// away: as nova buries a request that failed to schedule in cell0, no
// instance of it has a host.
func (a *API) failAll(ctx context.Context, insts []computedb.Instance, reason string) {
	empty := ""
	for i := range insts {
		if insts[i].Host != "" {
			out, err := a.compute.UpdateInstance(ctx, insts[i].UUID, computedb.InstanceUpdate{Host: &empty, Node: &empty})
			if err == nil {
				insts[i] = out
			}
		}
		insts[i] = a.setError(ctx, insts[i], reason)
	}
}

// removeCreated deletes the rows a create made before it failed, so a
// refused request leaves none behind.
func (a *API) removeCreated(ctx context.Context, log *slog.Logger, insts []computedb.Instance) {
	for _, inst := range insts {
		if err := a.compute.DeleteInstance(context.WithoutCancel(ctx), inst.UUID); err != nil && !errors.Is(err, computedb.ErrNotFound) {
			log.ErrorContext(ctx, "could not remove an instance of a failed create", "instance_uuid", inst.UUID, "error", err)
		}
	}
}
