package computedb

import (
	"context"
	"errors"
	"fmt"
)

// Resize claims in Postgres, with the locking order of pg_claims.go: the
// instance row first (a CTE's FOR UPDATE), the node rows second, each node
// row updated at most once per statement.

// ClaimResize implements Store.
func (p *PG) ClaimResize(ctx context.Context, r ResizeClaimRequest) (Instance, error) {
	if err := checkFlavorAmounts(r.Flavor); err != nil {
		return Instance{}, err
	}
	canon, ok := canonicalUUID(r.InstanceUUID)
	if !ok {
		return Instance{}, ErrNotFound
	}
	nodeID := r.NodeID
	if !validID(nodeID) {
		nodeID = 0
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
	f := r.Flavor
	for attempt := 1; ; attempt++ {
		in, err := scanInstance(p.pool.QueryRow(ctx, `
			WITH i AS (SELECT id AS i_id FROM instances WHERE uuid = $1 AND deleted = 0
					AND claim_node_id IS NOT NULL AND resize_node_id IS NULL
					AND ($3::text IS NULL OR coalesce(task_state, '') = $3) FOR UPDATE),
				n AS (UPDATE compute_nodes c SET vcpus_used = c.vcpus_used + $4,
					memory_mb_used = c.memory_mb_used + $5, local_gb_used = c.local_gb_used + $6,
					free_ram_mb = c.free_ram_mb - $5, free_disk_gb = c.free_disk_gb - $6
					FROM i WHERE c.id = $2 AND c.deleted = 0
					AND ($4 <= 0 OR c.vcpus_used + $4
						<= floor((c.vcpus - c.vcpus_reserved) * coalesce($7::float8, c.cpu_allocation_ratio)))
					AND ($5 <= 0 OR c.memory_mb_used - c.memory_mb_reserved + $5
						<= floor((c.memory_mb - c.memory_mb_reserved) * coalesce($8::float8, c.ram_allocation_ratio)))
					AND ($6 <= 0 OR c.local_gb_used - c.local_gb_reserved + $6
						<= floor((c.local_gb - c.local_gb_reserved) * coalesce($9::float8, c.disk_allocation_ratio)))
					RETURNING c.id AS n_id)
			UPDATE instances SET old_flavor_id = flavor_id, old_vcpus = vcpus, old_memory_mb = memory_mb, old_root_gb = root_gb,
				new_flavor_id = $10, new_vcpus = $4, new_memory_mb = $5, new_root_gb = $6,
				old_flavor = flavor, new_flavor = $11,
				resize_node_id = n.n_id, resize_finished = false, updated_at = now()
			FROM i, n WHERE instances.id = i.i_id
			RETURNING `+instCols,
			canon, nodeID, expect, f.VCPUs, f.MemoryMB, f.RootGB,
			ratio(r.Ratios.CPU), ratio(r.Ratios.RAM), ratio(r.Ratios.Disk), f.ID, r.Copy))
		if !errors.Is(err, ErrNotFound) {
			return in, fail("claiming the resize of instance "+canon, err)
		}
		cur, held, err := p.instanceAndClaim(ctx, canon)
		if err != nil {
			return Instance{}, err
		}
		switch rz := cur.Resize; {
		case rz != nil && !rz.Finished && rz.NodeID == r.NodeID && rz.NewFlavor == r.Flavor:
			return cur, nil // the same claim again
		case rz != nil:
			return Instance{}, fmt.Errorf("%w: instance %s is being resized already", ErrConflict, cur.UUID)
		case held == 0:
			return Instance{}, fmt.Errorf("%w: instance %s holds no claim to resize", ErrConflict, cur.UUID)
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
		if refused := node.refusal(f.resources(), r.Ratios); refused != nil {
			return Instance{}, refused
		}
		if attempt == claimAttempts {
			return Instance{}, fmt.Errorf("%w: the resize claim of instance %s on compute node %d kept changing under it", ErrConflict, cur.UUID, r.NodeID)
		}
	}
}

// FinishResize implements Store.
func (p *PG) FinishResize(ctx context.Context, id string) (Instance, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return Instance{}, ErrNotFound
	}
	in, err := scanInstance(p.pool.QueryRow(ctx, `
		WITH i AS (SELECT id AS i_id, claim_node_id AS i_src, resize_node_id AS i_dst FROM instances
				WHERE uuid = $1 AND deleted = 0 AND claim_node_id IS NOT NULL AND resize_node_id IS NOT NULL
				AND NOT resize_finished FOR UPDATE),
			d AS (SELECT c.host AS d_host, c.hypervisor_hostname AS d_node FROM compute_nodes c, i WHERE c.id = i.i_dst),
			v AS (UPDATE compute_nodes c SET running_vms = c.running_vms
					+ CASE WHEN c.id = i.i_dst THEN 1 ELSE 0 END - CASE WHEN c.id = i.i_src THEN 1 ELSE 0 END
				FROM i, d WHERE c.id IN (i.i_src, i.i_dst) AND i.i_src <> i.i_dst RETURNING c.id)
		UPDATE instances SET flavor_id = new_flavor_id, vcpus = new_vcpus, memory_mb = new_memory_mb, root_gb = new_root_gb,
			flavor = coalesce(new_flavor, flavor), claim_node_id = i.i_dst, resize_node_id = i.i_src, resize_finished = true,
			host = d.d_host, node = d.d_node, updated_at = now()
		FROM i, d WHERE instances.id = i.i_id
		RETURNING `+instCols, canon))
	if !errors.Is(err, ErrNotFound) {
		return in, fail("finishing the resize of instance "+canon, err)
	}
	cur, err := p.GetInstance(ctx, canon)
	switch {
	case err != nil:
		return Instance{}, err
	case cur.Resize == nil:
		return Instance{}, fmt.Errorf("%w: instance %s is not being resized", ErrConflict, cur.UUID)
	case cur.Resize.Finished:
		return cur, nil
	}
	return Instance{}, fmt.Errorf("%w: %d", ErrNodeNotFound, cur.Resize.NodeID)
}

// ConfirmResize implements Store.
func (p *PG) ConfirmResize(ctx context.Context, id string) (Instance, bool, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return Instance{}, false, ErrNotFound
	}
	in, err := scanInstance(p.pool.QueryRow(ctx, `
		WITH i AS (SELECT id AS i_id, resize_node_id AS r_node, `+resizeHeld+` FROM instances
				WHERE uuid = $1 AND deleted = 0 AND resize_node_id IS NOT NULL FOR UPDATE),
			n AS (UPDATE compute_nodes c SET vcpus_used = c.vcpus_used - i.r_vcpus,
				memory_mb_used = c.memory_mb_used - i.r_mem, local_gb_used = c.local_gb_used - i.r_disk,
				free_ram_mb = c.free_ram_mb + i.r_mem, free_disk_gb = c.free_disk_gb + i.r_disk
				FROM i WHERE c.id = i.r_node RETURNING c.id)
		UPDATE instances SET `+clearResize+`, updated_at = now() FROM i WHERE instances.id = i.i_id
		RETURNING `+instCols, canon))
	if err == nil {
		return in, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Instance{}, false, fail("confirming the resize of instance "+canon, err)
	}
	cur, err := p.GetInstance(ctx, canon)
	return cur, false, err
}

// RevertResize implements Store.
func (p *PG) RevertResize(ctx context.Context, id string) (Instance, bool, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return Instance{}, false, ErrNotFound
	}
	in, err := scanInstance(p.pool.QueryRow(ctx, `
		WITH i AS (SELECT id AS i_id, claim_node_id AS i_dst, resize_node_id AS i_src,
				vcpus AS i_vcpus, memory_mb AS i_mem, root_gb AS i_disk FROM instances
				WHERE uuid = $1 AND deleted = 0 AND resize_node_id IS NOT NULL AND resize_finished FOR UPDATE),
			s AS (SELECT c.host AS s_host, c.hypervisor_hostname AS s_node FROM compute_nodes c, i WHERE c.id = i.i_src),
			n AS (UPDATE compute_nodes c SET
					vcpus_used = c.vcpus_used - CASE WHEN c.id = i.i_dst THEN i.i_vcpus ELSE 0 END,
					memory_mb_used = c.memory_mb_used - CASE WHEN c.id = i.i_dst THEN i.i_mem ELSE 0 END,
					local_gb_used = c.local_gb_used - CASE WHEN c.id = i.i_dst THEN i.i_disk ELSE 0 END,
					free_ram_mb = c.free_ram_mb + CASE WHEN c.id = i.i_dst THEN i.i_mem ELSE 0 END,
					free_disk_gb = c.free_disk_gb + CASE WHEN c.id = i.i_dst THEN i.i_disk ELSE 0 END,
					running_vms = c.running_vms - CASE WHEN c.id = i.i_dst THEN 1 ELSE 0 END
						+ CASE WHEN c.id = i.i_src THEN 1 ELSE 0 END
				FROM i, s WHERE c.id = i.i_src OR c.id = i.i_dst RETURNING c.id)
		UPDATE instances SET flavor_id = old_flavor_id, vcpus = old_vcpus, memory_mb = old_memory_mb, root_gb = old_root_gb,
			flavor = coalesce(old_flavor, flavor), claim_node_id = i.i_src, host = s.s_host, node = s.s_node, `+clearResize+`, updated_at = now()
		FROM i, s WHERE instances.id = i.i_id
		RETURNING `+instCols, canon))
	if err == nil {
		return in, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Instance{}, false, fail("reverting the resize of instance "+canon, err)
	}
	cur, err := p.GetInstance(ctx, canon)
	switch {
	case err != nil:
		return Instance{}, false, err
	case cur.Resize == nil:
		return cur, false, nil
	case !cur.Resize.Finished:
		return Instance{}, false, fmt.Errorf("%w: the resize of instance %s is not finished", ErrConflict, cur.UUID)
	}
	return Instance{}, false, fmt.Errorf("%w: %d", ErrNodeNotFound, cur.Resize.NodeID)
}
