package computedb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PG is the Postgres Store.
type PG struct{ pool *pgxpool.Pool }

// NewPG returns a Store on pool; the schema comes from the migrations package.
func NewPG(pool *pgxpool.Pool) *PG { return &PG{pool: pool} }

const nodeCols = `id, uuid::text, coalesce(service_id, 0), host, hypervisor_hostname, hypervisor_type,
	hypervisor_version, host_ip, vcpus, vcpus_used, memory_mb, memory_mb_used, local_gb, local_gb_used,
	free_ram_mb, free_disk_gb, running_vms, current_workload, disk_available_least, cpu_info, created_at, updated_at,
	cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio, vcpus_reserved, memory_mb_reserved, local_gb_reserved`

func scanNode(row pgx.Row) (Node, error) {
	var n Node
	err := row.Scan(&n.ID, &n.UUID, &n.ServiceID, &n.Host, &n.HypervisorHostname, &n.HypervisorType,
		&n.HypervisorVersion, &n.HostIP, &n.VCPUs, &n.VCPUsUsed, &n.MemoryMB, &n.MemoryMBUsed, &n.LocalGB, &n.LocalGBUsed,
		&n.FreeRAMMB, &n.FreeDiskGB, &n.RunningVMs, &n.CurrentWorkload, &n.DiskAvailableLeast, &n.CPUInfo, &n.CreatedAt, &n.UpdatedAt,
		&n.CPUAllocationRatio, &n.RAMAllocationRatio, &n.DiskAllocationRatio, &n.VCPUsReserved, &n.MemoryMBReserved, &n.LocalGBReserved)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, ErrNotFound
	}
	return n, err
}

// UpsertNode implements Store.
func (p *PG) UpsertNode(ctx context.Context, n Node) (Node, error) {
	if err := checkNode(n); err != nil {
		return Node{}, err
	}
	var serviceID any
	if n.ServiceID != 0 {
		serviceID = n.ServiceID
	}
	row := p.pool.QueryRow(ctx, `
		INSERT INTO compute_nodes (uuid, service_id, host, hypervisor_hostname, hypervisor_type, hypervisor_version,
			host_ip, vcpus, vcpus_used, memory_mb, memory_mb_used, local_gb, local_gb_used, free_ram_mb, free_disk_gb,
			running_vms, current_workload, disk_available_least, cpu_info)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)
		ON CONFLICT (host, hypervisor_hostname, deleted) DO UPDATE SET
			service_id = coalesce(EXCLUDED.service_id, compute_nodes.service_id),
			hypervisor_type = EXCLUDED.hypervisor_type, hypervisor_version = EXCLUDED.hypervisor_version,
			host_ip = EXCLUDED.host_ip, vcpus = EXCLUDED.vcpus, vcpus_used = EXCLUDED.vcpus_used,
			memory_mb = EXCLUDED.memory_mb, memory_mb_used = EXCLUDED.memory_mb_used,
			local_gb = EXCLUDED.local_gb, local_gb_used = EXCLUDED.local_gb_used,
			free_ram_mb = EXCLUDED.free_ram_mb, free_disk_gb = EXCLUDED.free_disk_gb,
			running_vms = EXCLUDED.running_vms, current_workload = EXCLUDED.current_workload,
			disk_available_least = EXCLUDED.disk_available_least, cpu_info = EXCLUDED.cpu_info,
			updated_at = now()
		RETURNING `+nodeCols,
		uuid.NewString(), serviceID, n.Host, n.HypervisorHostname, n.HypervisorType, n.HypervisorVersion,
		n.HostIP, n.VCPUs, n.VCPUsUsed, n.MemoryMB, n.MemoryMBUsed, n.LocalGB, n.LocalGBUsed, n.FreeRAMMB, n.FreeDiskGB,
		n.RunningVMs, n.CurrentWorkload, n.DiskAvailableLeast, n.CPUInfo)
	out, err := scanNode(row)
	return out, fail("writing node "+n.HypervisorHostname, err)
}

// ListNodes implements Store.
func (p *PG) ListNodes(ctx context.Context) ([]Node, error) {
	rows, err := p.pool.Query(ctx, `SELECT `+nodeCols+` FROM compute_nodes WHERE deleted = 0 ORDER BY id`)
	if err != nil {
		return nil, fail("listing nodes", err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, fail("listing nodes", err)
		}
		out = append(out, n)
	}
	return out, fail("listing nodes", rows.Err())
}

// GetNode implements Store.
func (p *PG) GetNode(ctx context.Context, id int64) (Node, error) {
	if !validID(id) {
		return Node{}, ErrNotFound
	}
	n, err := scanNode(p.pool.QueryRow(ctx, `SELECT `+nodeCols+` FROM compute_nodes WHERE id = $1 AND deleted = 0`, id))
	return n, fail(fmt.Sprintf("reading node %d", id), err)
}

const instCols = `id, uuid::text, display_name, user_id, project_id, coalesce(host, ''), coalesce(node, ''),
	vm_state, coalesce(task_state, ''), power_state, flavor_id, vcpus, memory_mb, root_gb, image_ref,
	launched_at, terminated_at, created_at, updated_at, metadata, fault_code, fault_message, fault_created_at,
	coalesce(availability_zone, ''),
	locked, coalesce(locked_by, ''), coalesce(locked_reason, ''), coalesce(display_description, ''),
	coalesce(hostname, ''), coalesce(reservation_id, ''),
	tags, coalesce(key_name, ''), flavor, launch_index,
	coalesce(old_flavor_id, ''), coalesce(old_vcpus, 0), coalesce(old_memory_mb, 0), coalesce(old_root_gb, 0),
	coalesce(new_flavor_id, ''), coalesce(new_vcpus, 0), coalesce(new_memory_mb, 0), coalesce(new_root_gb, 0),
	coalesce(resize_node_id, 0), resize_finished`

func scanInstance(row pgx.Row) (Instance, error) { return newInstanceScanner().scan(row) }

// instanceScanner holds one row's scan targets; a list reuses it for every
// row instead of allocating a fresh set of heap-escaping targets per row.
type instanceScanner struct {
	in           Instance
	faultCode    *int
	faultMessage *string
	faultCreated *time.Time
	resize       Resize
	dest         []any
}

func newInstanceScanner() *instanceScanner {
	sc := &instanceScanner{}
	in := &sc.in
	sc.dest = []any{&in.ID, &in.UUID, &in.DisplayName, &in.UserID, &in.ProjectID, &in.Host, &in.Node,
		&in.VMState, &in.TaskState, &in.PowerState, &in.FlavorID, &in.VCPUs, &in.MemoryMB, &in.RootGB, &in.ImageRef,
		&in.LaunchedAt, &in.TerminatedAt, &in.CreatedAt, &in.UpdatedAt, &in.Metadata, &sc.faultCode, &sc.faultMessage, &sc.faultCreated,
		&in.AvailabilityZone,
		&in.Locked, &in.LockedBy, &in.LockedReason, &in.Description, &in.Hostname, &in.ReservationID,
		&in.Tags, &in.KeyName, &in.Flavor, &in.LaunchIndex,
		&sc.resize.OldFlavor.ID, &sc.resize.OldFlavor.VCPUs, &sc.resize.OldFlavor.MemoryMB, &sc.resize.OldFlavor.RootGB,
		&sc.resize.NewFlavor.ID, &sc.resize.NewFlavor.VCPUs, &sc.resize.NewFlavor.MemoryMB, &sc.resize.NewFlavor.RootGB,
		&sc.resize.NodeID, &sc.resize.Finished}
	return sc
}

func (sc *instanceScanner) scan(row pgx.Row) (Instance, error) {
	sc.in, sc.faultCode, sc.faultMessage, sc.faultCreated = Instance{}, nil, nil, nil
	err := row.Scan(sc.dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Instance{}, ErrNotFound
	}
	if err != nil {
		return Instance{}, err
	}
	in := sc.in
	if in.Metadata == nil {
		in.Metadata = map[string]string{}
	}
	if in.Tags == nil {
		in.Tags = []string{}
	}
	if sc.resize.NewFlavor.ID != "" {
		rz := sc.resize
		in.Resize = &rz
	}
	if sc.faultCode != nil && sc.faultMessage != nil && sc.faultCreated != nil {
		in.Fault = &Fault{Code: *sc.faultCode, Message: *sc.faultMessage, Created: *sc.faultCreated}
	}
	return in, nil
}

func nullIfEmpty[S ~string](s S) any {
	if s == "" {
		return nil
	}
	return string(s)
}

// CreateInstance implements Store.
func (p *PG) CreateInstance(ctx context.Context, in Instance) (Instance, error) {
	in, err := prepareInstance(in)
	if err != nil {
		return Instance{}, err
	}
	out, err := insertInstance(ctx, p.pool, in)
	return out, fail("creating instance "+in.UUID, err)
}

// insertInstance writes a prepared instance; an existing uuid is
// ErrConflict.
func insertInstance(ctx context.Context, q querier, in Instance) (Instance, error) {
	row := q.QueryRow(ctx, `
		INSERT INTO instances (uuid, display_name, user_id, project_id, host, node, vm_state, task_state, power_state,
			flavor_id, vcpus, memory_mb, root_gb, image_ref, launched_at, metadata, availability_zone, display_description,
			hostname, reservation_id, tags, key_name, flavor, launch_index)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24)
		RETURNING `+instCols,
		in.UUID, in.DisplayName, in.UserID, in.ProjectID, nullIfEmpty(in.Host), nullIfEmpty(in.Node), string(in.VMState),
		nullIfEmpty(in.TaskState), int(in.PowerState), in.FlavorID, in.VCPUs, in.MemoryMB, in.RootGB, in.ImageRef, in.LaunchedAt,
		metadataOrEmpty(in.Metadata), nullIfEmpty(in.AvailabilityZone), nullIfEmpty(in.Description),
		nullIfEmpty(in.Hostname), nullIfEmpty(in.ReservationID), normalTags(in.Tags), nullIfEmpty(in.KeyName), in.Flavor, in.LaunchIndex)
	out, err := scanInstance(row)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Instance{}, fmt.Errorf("%w: instance %s exists", ErrConflict, in.UUID)
	}
	return out, err
}

// GetInstance implements Store.
func (p *PG) GetInstance(ctx context.Context, id string) (Instance, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return Instance{}, ErrNotFound
	}
	in, err := scanInstance(p.pool.QueryRow(ctx, `SELECT `+instCols+` FROM instances WHERE uuid = $1 AND deleted = 0`, canon))
	return in, fail("reading instance "+canon, err)
}

// ListInstances implements Store: one parameterised query (pgList).
func (p *PG) ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error) {
	if err := checkFilter(f); err != nil {
		return nil, err
	}
	keys, err := f.check()
	if err != nil {
		return nil, err
	}
	var marker *Instance
	if f.Marker != "" {
		m, err := p.markerRow(ctx, f.Marker)
		if err != nil {
			return nil, fmt.Errorf("marker %s: %w", f.Marker, err)
		}
		marker = &m
	}
	q, args := pgList(&f, keys, marker)
	if len(f.Regex) > 0 {
		// A regex is planned with its value, so the trigram index on
		// display_name can serve it: a cached statement's generic plan
		// cannot see the pattern and scans every row of the project.
		args = append([]any{pgx.QueryExecModeExec}, args...)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fail("listing instances", regexError(err))
	}
	defer rows.Close()
	out := make([]Instance, 0, min(max(f.Limit, 16), 1000)) // a page is usually full
	sc := newInstanceScanner()
	for rows.Next() {
		in, err := sc.scan(rows)
		if err != nil {
			return nil, fail("listing instances", regexError(err))
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fail("listing instances", regexError(err))
	}
	return out, nil
}

// regexError is ErrFilterTooComplex for Postgres's refusals of a regular
// expression (invalid_regular_expression, statement_too_complex,
// program_limit_exceeded), err otherwise.
func regexError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "2201B" || pgErr.Code == "54001" || pgErr.Code == "54000") {
		return fmt.Errorf("%w: %s", ErrFilterTooComplex, pgErr.Message)
	}
	return err
}

// markerRow is the marker instance, deleted or not (nova reads it with
// read_deleted=yes).
func (p *PG) markerRow(ctx context.Context, id string) (Instance, error) {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return Instance{}, ErrNotFound
	}
	in, err := scanInstance(p.pool.QueryRow(ctx, `SELECT `+instCols+` FROM instances WHERE uuid = $1`, id))
	return in, fail("reading the marker", err)
}

// pgList builds the list query of f: every value is a parameter; column
// names and operators come from the columns table only.
func pgList(f *InstanceFilter, keys []SortKey, marker *Instance) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	const soft = "vm_state = 'soft-delete'"
	switch f.Deleted {
	case LiveOnly:
		where = append(where, "deleted = 0")
		if f.SoftDeleted == HideSoftDeleted {
			where = append(where, "vm_state <> 'soft-delete'")
		}
	case DeletedOnly:
		if f.SoftDeleted == AddSoftDeleted {
			where = append(where, "(deleted <> 0 OR "+soft+")")
		} else {
			where = append(where, "deleted <> 0")
		}
	}
	if f.ProjectID != "" {
		where = append(where, "project_id = "+arg(f.ProjectID))
	}
	if f.Host != "" {
		where = append(where, "host = "+arg(f.Host))
	}
	if f.VMState != "" {
		where = append(where, "vm_state = "+arg(string(f.VMState)))
	}
	if f.TaskState != "" {
		where = append(where, "task_state = "+arg(string(f.TaskState)))
	}
	for _, c := range sortedColumns(f.Exact) {
		vs := exactValues(c, f.Exact[c])
		switch {
		case len(vs) == 0:
			where = append(where, "false")
		case c == ColUUID:
			where = append(where, "uuid = ANY("+arg(vs)+"::uuid[])")
		default:
			where = append(where, string(c)+" = ANY("+arg(vs)+"::text[])")
		}
	}
	for _, c := range sortedColumns(f.Regex) {
		where = append(where, columns[c].regexSQL+" ~ "+arg(f.Regex[c].Postgres()))
	}
	if len(f.Tags) > 0 {
		where = append(where, "tags @> "+arg(f.Tags)+"::text[]")
	}
	if len(f.TagsAny) > 0 {
		where = append(where, "tags && "+arg(f.TagsAny)+"::text[]")
	}
	if len(f.NotTags) > 0 {
		where = append(where, "NOT (tags @> "+arg(f.NotTags)+"::text[])")
	}
	if len(f.NotTagsAny) > 0 {
		where = append(where, "NOT (tags && "+arg(f.NotTagsAny)+"::text[])")
	}
	if f.ChangesSince != nil {
		where = append(where, "updated_at >= "+arg(*f.ChangesSince))
	}
	if f.ChangesBefore != nil {
		where = append(where, "updated_at <= "+arg(*f.ChangesBefore))
	}
	if f.Locked != nil {
		where = append(where, "locked = "+arg(*f.Locked))
	}
	if marker != nil {
		where = append(where, pgAfter(keys, marker, arg))
	}
	if len(where) == 0 {
		where = append(where, "true")
	}
	order := make([]string, len(keys))
	for i, k := range keys {
		order[i] = columns[k.Column].sql
		if k.Desc {
			order[i] += " DESC"
		}
	}
	q := `SELECT ` + instCols + ` FROM instances WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + strings.Join(order, ", ")
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	return q, args
}

// pgAfter is "the row comes after marker in keys' order" (NULL sorts after
// every value, as Postgres orders ascending). Keys of one direction over
// columns that are never NULL become one row comparison an index can use.
func pgAfter(keys []SortKey, marker *Instance, arg func(any) string) string {
	param := func(k SortKey) string {
		d := columns[k.Column]
		v := get(marker, k.Column)
		var p string
		switch d.kind {
		case kindInt:
			p = arg(v.i) + "::bigint"
		case kindTime:
			p = arg(v.t) + "::timestamptz"
		case kindUUID:
			p = arg(v.s) + "::uuid"
		default:
			p = arg(v.s) + `::text COLLATE "C"`
		}
		return p
	}
	sameDir, anyNull := true, false
	for _, k := range keys {
		sameDir = sameDir && k.Desc == keys[0].Desc
		anyNull = anyNull || columns[k.Column].nullable
	}
	if sameDir && !anyNull {
		cols, ps := make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			cols[i], ps[i] = columns[k.Column].sql, param(k)
		}
		op := ">"
		if keys[0].Desc {
			op = "<"
		}
		return "(" + strings.Join(cols, ", ") + ") " + op + " (" + strings.Join(ps, ", ") + ")"
	}
	// after(i) = strictly(i) OR (equal(i) AND after(i+1)), after(n) = false
	expr := "false"
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		col := columns[k.Column].sql
		var strictly, equal string
		if get(marker, k.Column).null {
			equal = col + " IS NULL"
			if k.Desc {
				strictly = col + " IS NOT NULL"
			} else {
				strictly = "false"
			}
		} else {
			p := param(k)
			equal = col + " = " + p
			if k.Desc {
				strictly = col + " < " + p
			} else {
				strictly = "(" + col + " > " + p + " OR " + col + " IS NULL)"
			}
		}
		expr = "(" + strictly + " OR (" + equal + " AND " + expr + "))"
	}
	return expr
}

// sortedColumns is m's keys in a fixed order, so one filter always makes
// one query text (and one prepared statement).
func sortedColumns[V any](m map[Column]V) []Column {
	out := make([]Column, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// UpdateInstance implements Store.
func (p *PG) UpdateInstance(ctx context.Context, id string, u InstanceUpdate) (Instance, error) {
	if err := checkUpdate(u); err != nil {
		return Instance{}, err
	}
	canon, ok := canonicalUUID(id)
	if !ok {
		return Instance{}, ErrNotFound
	}
	set := []string{"updated_at = now()"}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if u.Host != nil {
		set = append(set, "host = "+arg(nullIfEmpty(*u.Host)))
	}
	if u.Node != nil {
		set = append(set, "node = "+arg(nullIfEmpty(*u.Node)))
	}
	if u.VMState != nil {
		set = append(set, "vm_state = "+arg(string(*u.VMState)))
	}
	if u.TaskState != nil {
		set = append(set, "task_state = "+arg(nullIfEmpty(*u.TaskState)))
	}
	if u.PowerState != nil {
		set = append(set, "power_state = "+arg(int(*u.PowerState)))
	}
	if u.LaunchedAt != nil {
		set = append(set, "launched_at = "+arg(*u.LaunchedAt))
	}
	if u.TerminatedAt != nil {
		set = append(set, "terminated_at = "+arg(*u.TerminatedAt))
	}
	if u.DisplayName != nil {
		set = append(set, "display_name = "+arg(*u.DisplayName))
	}
	if u.Description != nil {
		set = append(set, "display_description = "+arg(nullIfEmpty(*u.Description)))
	}
	if u.Hostname != nil {
		set = append(set, "hostname = "+arg(nullIfEmpty(*u.Hostname)))
	}
	if u.KeyName != nil {
		set = append(set, "key_name = "+arg(nullIfEmpty(*u.KeyName)))
	}
	if u.ImageRef != nil {
		set = append(set, "image_ref = "+arg(*u.ImageRef))
	}
	if u.Metadata != nil {
		set = append(set, "metadata = "+arg(metadataOrEmpty(*u.Metadata)))
	}
	if u.Locked != nil {
		set = append(set, "locked = "+arg(*u.Locked))
	}
	if u.LockedBy != nil {
		set = append(set, "locked_by = "+arg(nullIfEmpty(*u.LockedBy)))
	}
	if u.LockedReason != nil {
		set = append(set, "locked_reason = "+arg(nullIfEmpty(*u.LockedReason)))
	}
	if u.Fault != nil {
		created := any(nil)
		if !u.Fault.Created.IsZero() {
			created = u.Fault.Created
		}
		set = append(set, "fault_code = "+arg(u.Fault.Code), "fault_message = "+arg(u.Fault.Message),
			"fault_created_at = coalesce("+arg(created)+"::timestamptz, now())")
	}
	where := "uuid = " + arg(canon) + " AND deleted = 0"
	if u.ExpectTaskState != nil {
		where += " AND coalesce(task_state, '') = " + arg(string(*u.ExpectTaskState))
	}
	in, err := scanInstance(p.pool.QueryRow(ctx, `UPDATE instances SET `+strings.Join(set, ", ")+` WHERE `+where+` RETURNING `+instCols, args...))
	if errors.Is(err, ErrNotFound) && u.ExpectTaskState != nil {
		cur, gerr := p.GetInstance(ctx, canon)
		if gerr == nil {
			return Instance{}, fmt.Errorf("%w: instance %s task state is %q, expected %q", ErrConflict, id, cur.TaskState, *u.ExpectTaskState)
		}
		if !errors.Is(gerr, ErrNotFound) {
			return Instance{}, gerr
		}
	}
	return in, fail("updating instance "+canon, err)
}

// DeleteInstance implements Store.
func (p *PG) DeleteInstance(ctx context.Context, id string) error {
	canon, ok := canonicalUUID(id)
	if !ok {
		return ErrNotFound
	}
	// The claim goes with the row, in the same statement (see ReleaseClaim
	// for the locking order: the instance row, then the node's).
	tag, err := p.pool.Exec(ctx, `WITH i AS (`+claimedInstance+` AND deleted = 0 FOR UPDATE),
		n AS (`+releaseFromNode+`)
		UPDATE instances SET deleted = id, deleted_at = now(), updated_at = now(), vm_state = $2, claim_node_id = NULL, `+clearResize+`,
			task_state = NULL, terminated_at = coalesce(terminated_at, now()) FROM i WHERE instances.id = i.i_id`, canon, string(states.VMDeleted))
	if err != nil {
		return fail("deleting instance "+canon, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// metadataOrEmpty stores a nil map as the empty object.
func metadataOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// DeleteNodesByHost implements Store.
func (p *PG) DeleteNodesByHost(ctx context.Context, host string) (int, error) {
	if err := checkHost(host); err != nil {
		return 0, err
	}
	tag, err := p.pool.Exec(ctx, `UPDATE compute_nodes SET deleted = id, deleted_at = now() WHERE host = $1 AND deleted = 0`, host)
	if err != nil {
		return 0, fail("deleting the nodes of a host", err)
	}
	return int(tag.RowsAffected()), nil
}

// CountInstancesByHost implements Store.
func (p *PG) CountInstancesByHost(ctx context.Context, host string) (int, error) {
	if err := checkHost(host); err != nil {
		return 0, err
	}
	var n int
	err := p.pool.QueryRow(ctx, `SELECT count(*) FROM instances WHERE host = $1 AND deleted = 0`, host).Scan(&n)
	return n, fail("counting the instances of a host", err)
}
