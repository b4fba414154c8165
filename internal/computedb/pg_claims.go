package computedb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Claims in Postgres. Every statement that changes a claim locks the
// instance row first and the node row second (a CTE's SELECT ... FOR UPDATE,
// then the node's UPDATE), and ReportNode locks only the node row before it
// reads the instances, so no two of them wait on each other in a cycle. The
// node's conditional UPDATE is re-checked by Postgres against the newest row
// version when a concurrent claim committed first (READ COMMITTED's
// re-evaluation), which is what makes concurrent claims from any number of
// processes never exceed the node's capacity.

// claimedInstance selects the instance row of uuid $1 with the claim it
// holds, under aliases that cannot clash with the tables' columns.
// The r_ columns are the second claim of a resize (resize.go), on r_node.
const claimedInstance = `SELECT id AS i_id, claim_node_id AS i_node, vcpus AS i_vcpus, memory_mb AS i_mem, root_gb AS i_disk,
	resize_node_id AS r_node, ` + resizeHeld + `
	FROM instances WHERE uuid = $1`

// resizeHeld are the amounts the second claim of a resize holds: the new
// flavor's until finish_resize, the old one's after.
const resizeHeld = `CASE WHEN resize_finished THEN old_vcpus ELSE new_vcpus END AS r_vcpus,
	CASE WHEN resize_finished THEN old_memory_mb ELSE new_memory_mb END AS r_mem,
	CASE WHEN resize_finished THEN old_root_gb ELSE new_root_gb END AS r_disk`

// releaseFromNode gives both claims of CTE i back to their nodes, summed
// per node first: a same-host resize holds both on one node, whose row a
// statement may update only once.
const releaseFromNode = `UPDATE compute_nodes c SET vcpus_used = c.vcpus_used - u.u_vcpus,
	memory_mb_used = c.memory_mb_used - u.u_mem, local_gb_used = c.local_gb_used - u.u_disk,
	free_ram_mb = c.free_ram_mb + u.u_mem, free_disk_gb = c.free_disk_gb + u.u_disk, running_vms = c.running_vms - u.u_vms
	FROM (SELECT x_node AS u_node, sum(x_vcpus) AS u_vcpus, sum(x_mem) AS u_mem, sum(x_disk) AS u_disk, sum(x_vms) AS u_vms
		FROM (SELECT i_node AS x_node, i_vcpus AS x_vcpus, i_mem AS x_mem, i_disk AS x_disk, 1 AS x_vms FROM i WHERE i_node IS NOT NULL
			UNION ALL SELECT r_node, r_vcpus, r_mem, r_disk, 0 FROM i WHERE r_node IS NOT NULL) x GROUP BY x_node) u
	WHERE c.id = u.u_node RETURNING c.id`

// clearResize ends an instance's resize (an UPDATE's SET list).
const clearResize = `old_flavor_id = NULL, old_vcpus = NULL, old_memory_mb = NULL, old_root_gb = NULL,
	new_flavor_id = NULL, new_vcpus = NULL, new_memory_mb = NULL, new_root_gb = NULL,
	resize_node_id = NULL, resize_finished = false, old_flavor = NULL, new_flavor = NULL`

// ClaimInstance implements Store.
func (p *PG) ClaimInstance(ctx context.Context, r ClaimRequest) (Instance, error) {
	canon, ok := canonicalUUID(r.InstanceUUID)
	if !ok {
		return Instance{}, ErrNotFound
	}
	nodeID := r.NodeID
	if !validID(nodeID) {
		nodeID = 0 // names no node: the checks below answer ErrNodeNotFound
	}
	var expect any
	if r.ExpectTaskState != nil {
		expect = string(*r.ExpectTaskState)
	}
	ratio := func(v float64) any {
		if v > 0 {
			return v
		}
		return nil
	}
	for attempt := 1; ; attempt++ {
		q, done, err := p.claimQuerier(ctx, r, canon, nodeID)
		if err != nil {
			return Instance{}, fail("claiming for instance "+canon, err)
		}
		in, err := scanInstance(q.QueryRow(ctx, `
			WITH i AS (`+claimedInstance+` AND deleted = 0 AND claim_node_id IS NULL
					AND ($3::text IS NULL OR coalesce(task_state, '') = $3) FOR UPDATE),
				n AS (UPDATE compute_nodes c SET vcpus_used = c.vcpus_used + i.i_vcpus,
					memory_mb_used = c.memory_mb_used + i.i_mem, local_gb_used = c.local_gb_used + i.i_disk,
					free_ram_mb = c.free_ram_mb - i.i_mem, free_disk_gb = c.free_disk_gb - i.i_disk,
					running_vms = c.running_vms + 1
					FROM i WHERE c.id = $2 AND c.deleted = 0
					AND (i.i_vcpus <= 0 OR c.vcpus_used + i.i_vcpus
						<= floor((c.vcpus - c.vcpus_reserved) * coalesce($4::float8, c.cpu_allocation_ratio)))
					AND (i.i_mem <= 0 OR c.memory_mb_used - c.memory_mb_reserved + i.i_mem
						<= floor((c.memory_mb - c.memory_mb_reserved) * coalesce($5::float8, c.ram_allocation_ratio)))
					AND (i.i_disk <= 0 OR c.local_gb_used - c.local_gb_reserved + i.i_disk
						<= floor((c.local_gb - c.local_gb_reserved) * coalesce($6::float8, c.disk_allocation_ratio)))
					RETURNING c.id AS n_id, c.host AS n_host, c.hypervisor_hostname AS n_node)
			UPDATE instances SET claim_node_id = n.n_id, host = n.n_host, node = n.n_node, updated_at = now(),
				availability_zone = coalesce($7::text, availability_zone)
			FROM i, n WHERE instances.id = i.i_id
			RETURNING `+instCols,
			canon, nodeID, expect, ratio(r.Ratios.CPU), ratio(r.Ratios.RAM), ratio(r.Ratios.Disk), nullIfEmpty(r.AvailabilityZone)))
		err = done(ctx, err)
		if !errors.Is(err, ErrNotFound) {
			return in, fail("claiming for instance "+canon, err)
		}
		// Nothing was written: find out why.
		cur, held, err := p.instanceAndClaim(ctx, canon)
		if err != nil {
			return Instance{}, err
		}
		switch {
		case held != 0 && held == r.NodeID:
			return cur, nil // already held there: claims are idempotent
		case held != 0:
			return Instance{}, fmt.Errorf("%w: instance %s holds a claim on compute node %d, not %d", ErrConflict, cur.UUID, held, r.NodeID)
		case r.ExpectTaskState != nil && cur.TaskState != *r.ExpectTaskState:
			return Instance{}, fmt.Errorf("%w: instance %s task state is %q, expected %q", ErrConflict, cur.UUID, cur.TaskState, *r.ExpectTaskState)
		}
		node, err := p.GetNode(ctx, r.NodeID)
		if errors.Is(err, ErrNotFound) {
			return Instance{}, fmt.Errorf("%w: %d", ErrNodeNotFound, r.NodeID)
		}
		if err != nil {
			return Instance{}, err
		}
		if refused := node.refusal(Resources{int64(cur.VCPUs), cur.MemoryMB, cur.RootGB}, r.Ratios); refused != nil {
			return Instance{}, refused
		}
		if attempt == claimAttempts {
			return Instance{}, fmt.Errorf("%w: the claim of instance %s on compute node %d kept changing under it", ErrConflict, cur.UUID, r.NodeID)
		}
		// The node had room by the time we looked: a release came in
		// between. Try again.
	}
}

// ReleaseClaim implements Store.
func (p *PG) ReleaseClaim(ctx context.Context, id string) (bool, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return false, nil
	}
	tag, err := p.pool.Exec(ctx, `WITH i AS (`+claimedInstance+` AND (claim_node_id IS NOT NULL OR resize_node_id IS NOT NULL) FOR UPDATE),
		n AS (`+releaseFromNode+`)
		UPDATE instances SET claim_node_id = NULL, `+clearResize+` FROM i WHERE instances.id = i.i_id`, canon)
	if err != nil {
		return false, fail("releasing the claim of instance "+canon, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReportNode implements Store.
func (p *PG) ReportNode(ctx context.Context, n Node, initial AllocationRatios) (Node, error) {
	if err := checkNode(n); err != nil {
		return Node{}, err
	}
	var serviceID any
	if n.ServiceID != 0 {
		serviceID = n.ServiceID
	}
	first := initial.orOne().over(n.Ratios()) // a new node's ratios
	var out Node
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		// The upsert takes the node's row lock; the usage is then read in a
		// second statement, whose snapshot sees every claim committed before
		// the lock was granted, while no other claim on the node can commit
		// until this transaction does.
		var id int64
		if err := tx.QueryRow(ctx, `
			INSERT INTO compute_nodes (uuid, service_id, host, hypervisor_hostname, hypervisor_type, hypervisor_version,
				host_ip, vcpus, memory_mb, local_gb, current_workload, disk_available_least, cpu_info,
				vcpus_reserved, memory_mb_reserved, local_gb_reserved, memory_mb_used, local_gb_used,
				cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$15,$16,$17,$18,$19)
			ON CONFLICT (host, hypervisor_hostname, deleted) DO UPDATE SET
				service_id = coalesce(EXCLUDED.service_id, compute_nodes.service_id),
				hypervisor_type = EXCLUDED.hypervisor_type, hypervisor_version = EXCLUDED.hypervisor_version,
				host_ip = EXCLUDED.host_ip, vcpus = EXCLUDED.vcpus, memory_mb = EXCLUDED.memory_mb,
				local_gb = EXCLUDED.local_gb, current_workload = EXCLUDED.current_workload,
				disk_available_least = EXCLUDED.disk_available_least, cpu_info = EXCLUDED.cpu_info,
				vcpus_reserved = EXCLUDED.vcpus_reserved, memory_mb_reserved = EXCLUDED.memory_mb_reserved,
				local_gb_reserved = EXCLUDED.local_gb_reserved,
				cpu_allocation_ratio = CASE WHEN $20 THEN EXCLUDED.cpu_allocation_ratio ELSE compute_nodes.cpu_allocation_ratio END,
				ram_allocation_ratio = CASE WHEN $21 THEN EXCLUDED.ram_allocation_ratio ELSE compute_nodes.ram_allocation_ratio END,
				disk_allocation_ratio = CASE WHEN $22 THEN EXCLUDED.disk_allocation_ratio ELSE compute_nodes.disk_allocation_ratio END,
				updated_at = now()
			RETURNING id`,
			uuid.NewString(), serviceID, n.Host, n.HypervisorHostname, n.HypervisorType, n.HypervisorVersion,
			n.HostIP, n.VCPUs, n.MemoryMB, n.LocalGB, n.CurrentWorkload, n.DiskAvailableLeast, n.CPUInfo,
			n.VCPUsReserved, n.MemoryMBReserved, n.LocalGBReserved,
			first.CPU, first.RAM, first.Disk,
			n.CPUAllocationRatio > 0, n.RAMAllocationRatio > 0, n.DiskAllocationRatio > 0).Scan(&id); err != nil {
			return err
		}
		var err error
		out, err = scanNode(tx.QueryRow(ctx, `
			UPDATE compute_nodes SET vcpus_used = s.s_vcpus,
				memory_mb_used = memory_mb_reserved + s.s_mem, local_gb_used = local_gb_reserved + s.s_disk,
				free_ram_mb = memory_mb - memory_mb_reserved - s.s_mem, free_disk_gb = local_gb - local_gb_reserved - s.s_disk,
				running_vms = s.s_count
			FROM (SELECT coalesce(sum(x_vcpus), 0) AS s_vcpus, coalesce(sum(x_mem), 0) AS s_mem,
				coalesce(sum(x_disk), 0) AS s_disk, coalesce(sum(x_vms), 0) AS s_count FROM (
				SELECT vcpus AS x_vcpus, memory_mb AS x_mem, root_gb AS x_disk, 1 AS x_vms FROM instances WHERE claim_node_id = $1
				UNION ALL SELECT `+resizeHeld+`, 0 FROM instances WHERE resize_node_id = $1) x) s
			WHERE id = $1
			RETURNING `+nodeCols, id))
		return err
	})
	return out, fail("reporting node "+n.HypervisorHostname, err)
}

// instanceAndClaim reads instance canon and the node its claim is on (0:
// none), to tell why a conditional claim wrote nothing.
func (p *PG) instanceAndClaim(ctx context.Context, canon string) (Instance, int64, error) {
	cur, err := p.GetInstance(ctx, canon)
	if err != nil {
		return Instance{}, 0, err
	}
	var held int64
	if err := p.pool.QueryRow(ctx, `SELECT coalesce(claim_node_id, 0) FROM instances WHERE id = $1`, cur.ID).Scan(&held); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Instance{}, 0, ErrNotFound
		}
		return Instance{}, 0, fail("reading the claim of instance "+canon, err)
	}
	return cur, held, nil
}
