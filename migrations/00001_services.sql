-- services: one row per running nova service (nova-compute, nova-osapi_compute,
-- ...), the registry that os-services lists and the servicegroup heartbeats into.
-- Columns and unique keys follow nova's services table (nova/db/main/models.py).
--
-- Soft delete as nova: deleted = 0 while the row is live; deleting sets
-- deleted = id and deleted_at, so a new live row for the same (host, binary) can
-- be created while the old one stays for history.
--
-- Timestamps are timestamptz, not nova's naive "timestamp without time zone":
-- a timestamptz is an instant, so the value read back does not depend on the
-- server's or the session's TimeZone setting, and "now() - last_seen_up" is
-- exact across DST changes. Go reads it as time.Time and gonova renders it in
-- UTC (nova's API format carries no zone and means UTC), so the wire stays the
-- same. The other gonova tables use timestamptz for the same reason.
--
-- "binary" is a reserved word in Postgres and is quoted everywhere.

-- +goose Up
CREATE TABLE services (
    id              serial PRIMARY KEY,
    uuid            uuid NOT NULL,
    host            varchar(255) NOT NULL,
    "binary"        varchar(255) NOT NULL,
    topic           varchar(255),
    report_count    integer NOT NULL DEFAULT 0,
    disabled        boolean NOT NULL DEFAULT false,
    disabled_reason varchar(255),
    last_seen_up    timestamptz,
    forced_down     boolean NOT NULL DEFAULT false,
    version         integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz,
    deleted_at      timestamptz,
    deleted         integer NOT NULL DEFAULT 0,
    CONSTRAINT uniq_services0uuid UNIQUE (uuid),
    CONSTRAINT uniq_services0host0topic0deleted UNIQUE (host, topic, deleted),
    CONSTRAINT uniq_services0host0binary0deleted UNIQUE (host, "binary", deleted),
    CONSTRAINT services_deleted_is_zero_or_id CHECK (deleted = 0 OR deleted = id)
);

-- os-services lists live rows, often filtered by binary; host lookups use the
-- unique indexes above.
CREATE INDEX services_binary_deleted_idx ON services ("binary", deleted);

-- +goose Down
DROP TABLE services;
