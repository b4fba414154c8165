package computedb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// flavorCols reads a flavor with its extra specs (one jsonb object).
const flavorCols = `f.id, f.flavorid, f.name, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, f.swap, f.rxtx_factor,
	f.is_public, f.disabled, f.description, f.created_at, f.updated_at,
	coalesce((SELECT jsonb_object_agg(s.key, coalesce(s.value, '')) FROM flavor_extra_specs s WHERE s.flavor_id = f.id), '{}'::jsonb)`

func scanFlavor(row pgx.Row) (Flavor, error) {
	var f Flavor
	err := row.Scan(&f.ID, &f.FlavorID, &f.Name, &f.MemoryMB, &f.VCPUs, &f.RootGB, &f.EphemeralGB, &f.Swap, &f.RXTXFactor,
		&f.IsPublic, &f.Disabled, &f.Description, &f.CreatedAt, &f.UpdatedAt, &f.ExtraSpecs)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, ErrNotFound
	}
	if f.ExtraSpecs == nil {
		f.ExtraSpecs = map[string]string{}
	}
	return f, err
}

// pgVisible is the scope's condition on flavors f (nova's
// _flavor_get_query_from_db); arg adds a parameter.
func pgVisible(scope FlavorScope, arg func(any) string) string {
	if scope.Admin {
		return "true"
	}
	return "(f.is_public OR EXISTS (SELECT 1 FROM flavor_projects p WHERE p.flavor_id = f.id AND p.project_id = " + arg(scope.ProjectID) + "))"
}

// CreateFlavor implements FlavorStore.
func (p *PG) CreateFlavor(ctx context.Context, f Flavor) (Flavor, error) {
	if err := checkFlavor(f); err != nil {
		return Flavor{}, err
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return Flavor{}, fail("creating flavor", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO flavors (flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, rxtx_factor, is_public, disabled, description)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
		f.FlavorID, f.Name, f.MemoryMB, f.VCPUs, f.RootGB, f.EphemeralGB, f.Swap, f.RXTXFactor, f.IsPublic, f.Disabled, f.Description).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if strings.Contains(pgErr.ConstraintName, "flavorid") {
			return Flavor{}, &FlavorExistsError{FlavorID: f.FlavorID}
		}
		return Flavor{}, &FlavorExistsError{Name: f.Name}
	}
	if err != nil {
		return Flavor{}, fail("creating flavor", err)
	}
	if err := pgSetSpecs(ctx, tx, id, f.ExtraSpecs); err != nil {
		return Flavor{}, err
	}
	out, err := scanFlavor(tx.QueryRow(ctx, `SELECT `+flavorCols+` FROM flavors f WHERE f.id = $1`, id))
	if err != nil {
		return Flavor{}, fail("creating flavor", err)
	}
	return out, fail("creating flavor", tx.Commit(ctx))
}

func pgSetSpecs(ctx context.Context, tx pgx.Tx, id int64, specs map[string]string) error {
	for k, v := range specs {
		if _, err := tx.Exec(ctx, `INSERT INTO flavor_extra_specs (flavor_id, key, value) VALUES ($1, $2, $3)
			ON CONFLICT (flavor_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, id, k, v); err != nil {
			return fail("writing extra specs", err)
		}
	}
	return nil
}

// GetFlavor implements FlavorStore.
func (p *PG) GetFlavor(ctx context.Context, flavorID string, scope FlavorScope) (Flavor, error) {
	var c checker
	c.text("flavorid", flavorID, 1<<20)
	c.text("project_id", scope.ProjectID, 1<<20)
	if c.err != nil {
		return Flavor{}, ErrNotFound
	}
	args := []any{flavorID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	f, err := scanFlavor(p.pool.QueryRow(ctx, `SELECT `+flavorCols+` FROM flavors f WHERE f.flavorid = $1 AND `+pgVisible(scope, arg), args...))
	return f, fail("reading flavor", err)
}

// flavorSortSQL is each sort key's column, text in the C collation as the
// in-memory store compares.
func flavorSortSQL(key string) string {
	switch key {
	case "flavorid", "name", "description":
		return "f." + key + ` COLLATE "C"`
	}
	return "f." + key
}

// ListFlavors implements FlavorStore.
func (p *PG) ListFlavors(ctx context.Context, filter FlavorFilter) ([]Flavor, error) {
	if err := filter.checkSort(); err != nil {
		return nil, err
	}
	var c checker
	c.text("marker", filter.Marker, 1<<20)
	c.text("project_id", filter.Scope.ProjectID, 1<<20)
	if c.err != nil {
		return nil, c.err
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{pgVisible(filter.Scope, arg)}
	if filter.MinMemoryMB != nil {
		where = append(where, "f.memory_mb >= "+arg(*filter.MinMemoryMB))
	}
	if filter.MinRootGB != nil {
		where = append(where, "f.root_gb >= "+arg(*filter.MinRootGB))
	}
	if filter.Disabled != nil {
		where = append(where, "f.disabled = "+arg(*filter.Disabled))
	}
	if pub := filter.IsPublic; pub != nil {
		if *pub {
			where = append(where, "(f.is_public OR EXISTS (SELECT 1 FROM flavor_projects p WHERE p.flavor_id = f.id AND p.project_id = "+arg(filter.Scope.ProjectID)+"))")
		} else {
			where = append(where, "NOT f.is_public")
		}
	}
	col := flavorSortSQL(filter.SortKey)
	dir := "ASC"
	if filter.SortDesc {
		dir = "DESC"
	}
	if filter.Marker != "" {
		// The marker row, looked up in the caller's scope; then "after
		// it" in (key, id) order, NULL sorting after every value as
		// Postgres orders ascending (before, descending).
		margs := []any{filter.Marker}
		marg := func(v any) string { margs = append(margs, v); return fmt.Sprintf("$%d", len(margs)) }
		var mid int64
		err := p.pool.QueryRow(ctx, `SELECT f.id FROM flavors f WHERE f.flavorid = $1 AND `+pgVisible(filter.Scope, marg), margs...).Scan(&mid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("marker %s: %w", filter.Marker, ErrNotFound)
		}
		if err != nil {
			return nil, fail("reading the marker", err)
		}
		m := "(SELECT " + strings.ReplaceAll(col, "f.", "m.") + " FROM flavors m WHERE m.id = " + arg(mid) + ")"
		idOp, strict := ">", col+" > "+m
		if filter.SortDesc {
			idOp, strict = "<", col+" < "+m
		}
		// NULL handling: ascending, a NULL marker key has only NULL rows
		// after it; a non-NULL one has the greater values and the NULLs.
		// Descending is the mirror.
		var after string
		if !filter.SortDesc {
			after = "(" + m + " IS NOT NULL AND (" + strict + " OR " + col + " IS NULL))"
		} else {
			after = "(" + strict + " OR (" + m + " IS NULL AND " + col + " IS NOT NULL))"
		}
		equal := "(" + col + " IS NOT DISTINCT FROM " + m + " AND f.id " + idOp + " " + arg(mid) + ")"
		where = append(where, "("+after+" OR "+equal+")")
	}
	q := `SELECT ` + flavorCols + ` FROM flavors f WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + col + " " + dir + ", f.id " + dir
	if filter.Limit > 0 {
		q += " LIMIT " + arg(filter.Limit)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fail("listing flavors", err)
	}
	defer rows.Close()
	out := []Flavor{}
	for rows.Next() {
		f, err := scanFlavor(rows)
		if err != nil {
			return nil, fail("listing flavors", err)
		}
		out = append(out, f)
	}
	return out, fail("listing flavors", rows.Err())
}

// UpdateFlavorDescription implements FlavorStore.
func (p *PG) UpdateFlavorDescription(ctx context.Context, flavorID string, description *string) (Flavor, error) {
	if description != nil {
		var c checker
		c.text("description", *description, 65535)
		if c.err != nil {
			return Flavor{}, c.err
		}
	}
	var c checker
	c.text("flavorid", flavorID, 1<<20)
	if c.err != nil {
		return Flavor{}, ErrNotFound
	}
	tag, err := p.pool.Exec(ctx, `UPDATE flavors SET description = $2, updated_at = now() WHERE flavorid = $1`, flavorID, description)
	if err != nil {
		return Flavor{}, fail("updating flavor", err)
	}
	if tag.RowsAffected() == 0 {
		return Flavor{}, ErrNotFound
	}
	return p.GetFlavor(ctx, flavorID, FlavorScope{Admin: true})
}

// flavorRowID is the row id of flavorID, or ErrNotFound.
func flavorRowID(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, flavorID string, lock bool) (int64, error) {
	var c checker
	c.text("flavorid", flavorID, 1<<20)
	if c.err != nil {
		return 0, ErrNotFound
	}
	sql := `SELECT id FROM flavors WHERE flavorid = $1`
	if lock {
		sql += " FOR UPDATE"
	}
	var id int64
	err := q.QueryRow(ctx, sql, flavorID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, fail("reading flavor", err)
}

// DeleteFlavor implements FlavorStore.
func (p *PG) DeleteFlavor(ctx context.Context, flavorID string) error {
	var c checker
	c.text("flavorid", flavorID, 1<<20)
	if c.err != nil {
		return ErrNotFound
	}
	tag, err := p.pool.Exec(ctx, `DELETE FROM flavors WHERE flavorid = $1`, flavorID)
	if err != nil {
		return fail("deleting flavor", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// SetFlavorExtraSpecs implements FlavorStore.
func (p *PG) SetFlavorExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) (Flavor, error) {
	if err := checkSpecs(specs); err != nil {
		return Flavor{}, err
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return Flavor{}, fail("writing extra specs", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	id, err := flavorRowID(ctx, tx, flavorID, true)
	if err != nil {
		return Flavor{}, err
	}
	if err := pgSetSpecs(ctx, tx, id, specs); err != nil {
		return Flavor{}, err
	}
	f, err := scanFlavor(tx.QueryRow(ctx, `SELECT `+flavorCols+` FROM flavors f WHERE f.id = $1`, id))
	if err != nil {
		return Flavor{}, fail("writing extra specs", err)
	}
	return f, fail("writing extra specs", tx.Commit(ctx))
}

// DeleteFlavorExtraSpec implements FlavorStore.
func (p *PG) DeleteFlavorExtraSpec(ctx context.Context, flavorID, key string) error {
	id, err := flavorRowID(ctx, p.pool, flavorID, false)
	if err != nil {
		return err
	}
	var c checker
	c.text("key", key, 1<<20)
	if c.err != nil {
		return ErrExtraSpecNotFound
	}
	tag, err := p.pool.Exec(ctx, `DELETE FROM flavor_extra_specs WHERE flavor_id = $1 AND key = $2`, id, key)
	if err != nil {
		return fail("deleting an extra spec", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrExtraSpecNotFound
	}
	return nil
}

// FlavorProjects implements FlavorStore.
func (p *PG) FlavorProjects(ctx context.Context, flavorID string) ([]string, error) {
	id, err := flavorRowID(ctx, p.pool, flavorID, false)
	if err != nil {
		return nil, err
	}
	rows, err := p.pool.Query(ctx, `SELECT project_id FROM flavor_projects WHERE flavor_id = $1 ORDER BY project_id COLLATE "C"`, id)
	if err != nil {
		return nil, fail("listing flavor access", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil {
		out = []string{}
	}
	return out, fail("listing flavor access", err)
}

// AddFlavorProject implements FlavorStore.
func (p *PG) AddFlavorProject(ctx context.Context, flavorID, project string) error {
	var c checker
	c.text("project_id", project, MaxFieldLength)
	if c.err != nil {
		return c.err
	}
	id, err := flavorRowID(ctx, p.pool, flavorID, false)
	if err != nil {
		return err
	}
	tag, err := p.pool.Exec(ctx, `INSERT INTO flavor_projects (flavor_id, project_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, project)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // deleted meanwhile
		return ErrNotFound
	}
	if err != nil {
		return fail("adding flavor access", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: project %s has access to flavor %s", ErrConflict, project, flavorID)
	}
	return nil
}

// RemoveFlavorProject implements FlavorStore.
func (p *PG) RemoveFlavorProject(ctx context.Context, flavorID, project string) error {
	id, err := flavorRowID(ctx, p.pool, flavorID, false)
	if err != nil {
		return err
	}
	var c checker
	c.text("project_id", project, 1<<20)
	if c.err != nil {
		return ErrFlavorAccessNotFound
	}
	tag, err := p.pool.Exec(ctx, `DELETE FROM flavor_projects WHERE flavor_id = $1 AND project_id = $2`, id, project)
	if err != nil {
		return fail("removing flavor access", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrFlavorAccessNotFound
	}
	return nil
}
