package computedb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Quotas in Postgres. A create that checks a quota first takes the
// project's transaction-level advisory lock (quotaLockClass, hashtext of
// the project id), then reads the limits, counts the live rows and writes
// in the same transaction: two creates of one project in any number of
// processes are serialised, and the second counts the first's row (READ
// COMMITTED gives every statement a snapshot taken after the lock was
// granted). Creates in other projects never wait on each other (unless
// their ids' hashes collide, which only serialises them).

// quotaLockClass is the first key of gonova's quota advisory locks.
const quotaLockClass = 0x6e71 // "nq"

// lockProject takes the project's quota lock until tx ends.
func lockProject(ctx context.Context, tx pgx.Tx, project string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, hashtext($2))`, quotaLockClass, project)
	return err
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func listQuotas(ctx context.Context, q querier, project string) ([]QuotaRow, error) {
	rows, err := q.Query(ctx, `SELECT project_id, user_id, resource, hard_limit FROM quotas
		WHERE project_id = $1 ORDER BY user_id, resource`, project)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (QuotaRow, error) {
		var q QuotaRow
		err := r.Scan(&q.ProjectID, &q.UserID, &q.Resource, &q.Limit)
		return q, err
	})
}

// ListQuotas implements Store.
func (p *PG) ListQuotas(ctx context.Context, project string) ([]QuotaRow, error) {
	if err := checkReadIDs(project); err != nil {
		return nil, err
	}
	rows, err := listQuotas(ctx, p.pool, project)
	return rows, fail("listing the quotas of project "+project, err)
}

// SetQuotas implements Store.
func (p *PG) SetQuotas(ctx context.Context, project, user string, limits QuotaLimits) error {
	for r, v := range limits {
		if err := checkQuotaRow(project, user, r, v); err != nil {
			return err
		}
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for r, v := range limits {
			if _, err := tx.Exec(ctx, `INSERT INTO quotas (project_id, user_id, resource, hard_limit) VALUES ($1, $2, $3, $4)
				ON CONFLICT (project_id, user_id, resource) DO UPDATE SET hard_limit = EXCLUDED.hard_limit, updated_at = now()`,
				project, user, r, v); err != nil {
				return err
			}
		}
		return nil
	})
	return fail("setting the quotas of project "+project, err)
}

// DeleteQuotas implements Store.
func (p *PG) DeleteQuotas(ctx context.Context, project, user string) error {
	if err := checkReadIDs(project, user); err != nil {
		return err
	}
	_, err := p.pool.Exec(ctx, `DELETE FROM quotas WHERE project_id = $1 AND ($2 = '' OR user_id = $2)`, project, user)
	return fail("deleting the quotas of project "+project, err)
}

// countInstances counts the live instances of project (of user in it when
// user is not empty).
func countInstances(ctx context.Context, q querier, project, user string) (Usage, error) {
	var u Usage
	err := q.QueryRow(ctx, `SELECT count(*), coalesce(sum(vcpus), 0), coalesce(sum(memory_mb), 0) FROM instances
		WHERE project_id = $1 AND deleted = 0 AND ($2 = '' OR user_id = $2)`, project, user).Scan(&u.Instances, &u.Cores, &u.RAM)
	return u, err
}

// CountUsage implements Store.
func (p *PG) CountUsage(ctx context.Context, project, user string) (Usage, error) {
	if err := checkReadIDs(project, user); err != nil {
		return Usage{}, err
	}
	u, err := countInstances(ctx, p.pool, project, user)
	if err == nil {
		err = p.pool.QueryRow(ctx, `SELECT count(*) FROM server_groups WHERE project_id = $1 AND ($2 = '' OR user_id = $2)`,
			project, user).Scan(&u.ServerGroups)
	}
	return u, fail("counting the usage of project "+project, err)
}

// CreateInstanceInQuota implements Store.
func (p *PG) CreateInstanceInQuota(ctx context.Context, in Instance, q InstanceQuota) (Instance, error) {
	in, err := prepareInstance(in)
	if err != nil {
		return Instance{}, err
	}
	var out Instance
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if err := lockProject(ctx, tx, in.ProjectID); err != nil {
			return err
		}
		rows, class, proj, mine, err := instanceQuotaState(ctx, tx, in.ProjectID, in.UserID)
		if err != nil {
			return err
		}
		defaults := withClass(q.Defaults, class)
		var user *Usage
		if countedPerUser(rows, in.UserID) {
			user = &mine
		}
		if over := checkInstanceQuota(rows, in.UserID, defaults, &proj, user, instanceDeltas(in)); over != nil {
			return over
		}
		var groupID int64
		if q.Group != "" {
			canon, ok := canonicalUUID(q.Group)
			if !ok {
				return fmt.Errorf("%w: server group %s", ErrNotFound, q.Group)
			}
			// The group's row lock serialises its member additions (and
			// the claims of its members, pg_groups.go).
			if err := tx.QueryRow(ctx, `SELECT id FROM server_groups WHERE uuid = $1 FOR UPDATE`, canon).Scan(&groupID); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return fmt.Errorf("%w: server group %s", ErrNotFound, q.Group)
				}
				return err
			}
			var mine int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM server_group_members m JOIN instances i
				ON i.uuid = m.instance_uuid AND i.deleted = 0 WHERE m.group_id = $1 AND i.user_id = $2`,
				groupID, in.UserID).Scan(&mine); err != nil {
				return err
			}
			if err := checkGroupMembersQuota(rows, in.UserID, defaults, mine); err != nil {
				return err
			}
		}
		out, err = insertInstance(ctx, tx, in)
		if err != nil {
			return err
		}
		if groupID != 0 {
			_, err = tx.Exec(ctx, `INSERT INTO server_group_members (group_id, instance_uuid) VALUES ($1, $2)`, groupID, out.UUID)
		}
		return err
	})
	return out, fail("creating instance "+in.UUID, err)
}

func listQuotaClass(ctx context.Context, q querier, name string) (QuotaLimits, error) {
	rows, err := q.Query(ctx, `SELECT resource, hard_limit FROM quota_classes WHERE class_name = $1`, name)
	if err != nil {
		return nil, err
	}
	out := QuotaLimits{}
	var r string
	var v int
	_, err = pgx.ForEachRow(rows, []any{&r, &v}, func() error { out[r] = v; return nil })
	return out, err
}

// ListQuotaClass implements Store.
func (p *PG) ListQuotaClass(ctx context.Context, name string) (QuotaLimits, error) {
	if err := checkReadIDs(name); err != nil {
		return nil, err
	}
	out, err := listQuotaClass(ctx, p.pool, name)
	return out, fail("listing quota class "+name, err)
}

// SetQuotaClass implements Store.
func (p *PG) SetQuotaClass(ctx context.Context, name string, limits QuotaLimits) error {
	if err := checkQuotaClass(name, limits); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for r, v := range limits {
			if _, err := tx.Exec(ctx, `INSERT INTO quota_classes (class_name, resource, hard_limit) VALUES ($1, $2, $3)
				ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = EXCLUDED.hard_limit, updated_at = now()`, name, r, v); err != nil {
				return err
			}
		}
		return nil
	})
	return fail("setting quota class "+name, err)
}

// txDefaults is defaults with the default quota class over them, read in
// tx.
func txDefaults(ctx context.Context, tx pgx.Tx, defaults QuotaLimits) (QuotaLimits, error) {
	class, err := listQuotaClass(ctx, tx, DefaultQuotaClass)
	if err != nil {
		return nil, err
	}
	return withClass(defaults, class), nil
}

// instanceQuotaState reads, in one statement (the project's lock held,
// so its snapshot sees every create committed before), what an instance
// quota check needs: the project's quota rows, the default quota class,
// and the live instances, cores and ram of the project and of user in it.
func instanceQuotaState(ctx context.Context, tx pgx.Tx, project, user string) (rows []QuotaRow, class QuotaLimits, proj, mine Usage, err error) {
	var rowsJSON [][]any
	err = tx.QueryRow(ctx, `SELECT
		(SELECT coalesce(json_agg(json_build_array(user_id, resource, hard_limit) ORDER BY user_id, resource), '[]')
			FROM quotas WHERE project_id = $1),
		(SELECT coalesce(json_object_agg(resource, hard_limit), '{}') FROM quota_classes WHERE class_name = $3),
		count(*), coalesce(sum(vcpus), 0), coalesce(sum(memory_mb), 0),
		count(*) FILTER (WHERE user_id = $2), coalesce(sum(vcpus) FILTER (WHERE user_id = $2), 0),
		coalesce(sum(memory_mb) FILTER (WHERE user_id = $2), 0)
		FROM instances WHERE project_id = $1 AND deleted = 0`, project, user, DefaultQuotaClass).Scan(
		&rowsJSON, &class, &proj.Instances, &proj.Cores, &proj.RAM, &mine.Instances, &mine.Cores, &mine.RAM)
	if err != nil {
		return nil, nil, proj, mine, err
	}
	for _, r := range rowsJSON {
		u, _ := r[0].(string)
		res, _ := r[1].(string)
		lim, _ := r[2].(float64)
		rows = append(rows, QuotaRow{ProjectID: project, UserID: u, Resource: res, Limit: int(lim)})
	}
	return rows, class, proj, mine, nil
}
