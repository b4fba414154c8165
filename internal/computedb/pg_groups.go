package computedb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Server groups in Postgres. A group's row lock (SELECT ... FOR UPDATE)
// serialises what must see the group's members as they are: adding a member
// (CreateInstanceInQuota) and claiming a host for one under a hard policy
// (claimGroupCheck, in the claim's transaction).

// groupCols selects a group with its live members, oldest first.
const groupCols = `g.id, g.uuid::text, g.name, g.project_id, g.user_id, g.policy,
	coalesce((g.rules->>'max_server_per_host')::int, 0), g.created_at,
	coalesce((SELECT array_agg(m.instance_uuid::text ORDER BY m.created_at, m.instance_uuid)
		FROM server_group_members m JOIN instances i ON i.uuid = m.instance_uuid AND i.deleted = 0
		WHERE m.group_id = g.id), '{}')`

func scanGroup(row pgx.Row) (ServerGroup, error) {
	var g ServerGroup
	err := row.Scan(&g.ID, &g.UUID, &g.Name, &g.ProjectID, &g.UserID, &g.Policy, &g.MaxServerPerHost, &g.CreatedAt, &g.Members)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, ErrNotFound
	}
	return g, err
}

func groupRules(g ServerGroup) map[string]int {
	if g.MaxServerPerHost > 0 {
		return map[string]int{"max_server_per_host": g.MaxServerPerHost}
	}
	return map[string]int{}
}

// CreateServerGroup implements Store.
func (p *PG) CreateServerGroup(ctx context.Context, g ServerGroup, defaults QuotaLimits) (ServerGroup, error) {
	if g.UUID == "" {
		g.UUID = uuid.NewString()
	}
	canon, ok := canonicalUUID(g.UUID)
	if !ok {
		return ServerGroup{}, invalid("uuid", "is not a uuid")
	}
	g.UUID = canon
	if err := checkServerGroup(g); err != nil {
		return ServerGroup{}, err
	}
	var out ServerGroup
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if defaults != nil {
			if err := lockProject(ctx, tx, g.ProjectID); err != nil {
				return err
			}
			rows, err := listQuotas(ctx, tx, g.ProjectID)
			if err != nil {
				return err
			}
			if defaults, err = txDefaults(ctx, tx, defaults); err != nil {
				return err
			}
			var proj, byUser int64
			if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE user_id = $2) FROM server_groups WHERE project_id = $1`,
				g.ProjectID, g.UserID).Scan(&proj, &byUser); err != nil {
				return err
			}
			if err := checkServerGroupsQuota(rows, g.UserID, defaults, proj, byUser); err != nil {
				return err
			}
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO server_groups (uuid, name, project_id, user_id, policy, rules)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uuid) DO NOTHING RETURNING id`,
			g.UUID, g.Name, g.ProjectID, g.UserID, g.Policy, groupRules(g)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: server group %s exists", ErrConflict, g.UUID)
		}
		if err != nil {
			return err
		}
		out, err = scanGroup(tx.QueryRow(ctx, `SELECT `+groupCols+` FROM server_groups g WHERE g.id = $1`, id))
		return err
	})
	return out, fail("creating server group "+g.UUID, err)
}

// GetServerGroup implements Store.
func (p *PG) GetServerGroup(ctx context.Context, id string) (ServerGroup, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return ServerGroup{}, ErrNotFound
	}
	g, err := scanGroup(p.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM server_groups g WHERE g.uuid = $1`, canon))
	return g, fail("reading server group "+canon, err)
}

// ListServerGroups implements Store.
func (p *PG) ListServerGroups(ctx context.Context, project string) ([]ServerGroup, error) {
	if err := checkReadIDs(project); err != nil {
		return nil, err
	}
	rows, err := p.pool.Query(ctx, `SELECT `+groupCols+` FROM server_groups g WHERE $1 = '' OR g.project_id = $1 ORDER BY g.id`, project)
	if err != nil {
		return nil, fail("listing server groups", err)
	}
	defer rows.Close()
	out := []ServerGroup{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fail("listing server groups", err)
		}
		out = append(out, g)
	}
	return out, fail("listing server groups", rows.Err())
}

// DeleteServerGroup implements Store.
func (p *PG) DeleteServerGroup(ctx context.Context, id string) error {
	canon, ok := canonicalUUID(id)
	if !ok {
		return ErrNotFound
	}
	tag, err := p.pool.Exec(ctx, `DELETE FROM server_groups WHERE uuid = $1`, canon)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return fail("deleting server group "+canon, err)
}

// ServerGroupOfInstance implements Store.
func (p *PG) ServerGroupOfInstance(ctx context.Context, instanceUUID string) (ServerGroup, error) {
	canon, ok := canonicalUUID(instanceUUID)
	if !ok {
		return ServerGroup{}, ErrNotFound
	}
	g, err := scanGroup(p.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM server_groups g
		WHERE g.id = (SELECT group_id FROM server_group_members WHERE instance_uuid = $1 ORDER BY created_at LIMIT 1)`, canon))
	return g, fail("reading the server group of instance "+canon, err)
}

// claimGroupCheck locks the group of gc in tx and refuses the node whose
// host would break its hard policy, counting the other live members on
// each host as they are once the lock is held.
func claimGroupCheck(ctx context.Context, tx pgx.Tx, gc *GroupClaim, instance string, nodeID int64) error {
	canon, ok := canonicalUUID(gc.UUID)
	if !ok {
		return nil
	}
	var (
		groupID    int64
		policy     string
		maxPerHost int
	)
	err := tx.QueryRow(ctx, `SELECT id, policy, coalesce((rules->>'max_server_per_host')::int, 0)
		FROM server_groups WHERE uuid = $1 FOR UPDATE`, canon).Scan(&groupID, &policy, &maxPerHost)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // deleted meanwhile: nothing to keep
	}
	if err != nil {
		return err
	}
	var host string
	if err := tx.QueryRow(ctx, `SELECT host FROM compute_nodes WHERE id = $1`, nodeID).Scan(&host); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // the claim itself answers ErrNodeNotFound
		}
		return err
	}
	rows, err := tx.Query(ctx, `SELECT i.host, count(*) FROM server_group_members m
		JOIN instances i ON i.uuid = m.instance_uuid AND i.deleted = 0
		WHERE m.group_id = $1 AND i.uuid <> $2 AND i.host IS NOT NULL GROUP BY i.host`, groupID, instance)
	if err != nil {
		return err
	}
	byHost := map[string]int{}
	var h string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&h, &n}, func() error { byHost[h] = n; return nil }); err != nil {
		return err
	}
	if !hostAllowed(policy, maxPerHost, byHost, host) {
		return &GroupPolicyError{Group: canon, Policy: policy, Host: host}
	}
	return nil
}

// claimQuerier is where ClaimInstance runs its claim statement: the pool,
// or with r.Group a transaction in which the group's hard policy was
// checked under its row lock (claimGroupCheck). done ends it: commit when
// the statement's err is nil, rollback otherwise, and returns err (or the
// commit's error).
func (p *PG) claimQuerier(ctx context.Context, r ClaimRequest, instance string, nodeID int64) (querier, func(context.Context, error) error, error) {
	if r.Group == nil {
		return p.pool, func(_ context.Context, err error) error { return err }, nil
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := claimGroupCheck(ctx, tx, r.Group, instance, nodeID); err != nil {
		_ = tx.Rollback(ctx)
		return nil, nil, err
	}
	return tx, func(ctx context.Context, err error) error {
		if err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}, nil
}
