-- Host aggregates, as nova's API database keeps them: aggregates (a unique
-- name, a uuid), aggregate_hosts and aggregate_metadata, hard-deleted (the
-- API database has no soft delete). An aggregate's availability_zone
-- metadata is the zone of its hosts. instances.availability_zone is nova's
-- column: the zone the boot asked for, then its host's zone once placed.

-- +goose Up
CREATE TABLE aggregates (
    id         serial PRIMARY KEY,
    uuid       uuid NOT NULL UNIQUE,
    name       varchar(255) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    CONSTRAINT uniq_aggregate0name UNIQUE (name)
);

CREATE TABLE aggregate_hosts (
    id           serial PRIMARY KEY,
    host         varchar(255) NOT NULL,
    aggregate_id integer NOT NULL REFERENCES aggregates (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uniq_aggregate_hosts0host0aggregate_id UNIQUE (host, aggregate_id)
);
CREATE INDEX aggregate_hosts_aggregate_id_idx ON aggregate_hosts (aggregate_id);

CREATE TABLE aggregate_metadata (
    id           serial PRIMARY KEY,
    aggregate_id integer NOT NULL REFERENCES aggregates (id) ON DELETE CASCADE,
    key          varchar(255) NOT NULL,
    value        varchar(255) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uniq_aggregate_metadata0aggregate_id0key UNIQUE (aggregate_id, key)
);
CREATE INDEX aggregate_metadata_key_idx ON aggregate_metadata (key);

ALTER TABLE instances ADD COLUMN availability_zone varchar(255);
-- Before aggregates every host was in the default zone.
UPDATE instances SET availability_zone = 'nova' WHERE host IS NOT NULL;

-- +goose Down
ALTER TABLE instances DROP COLUMN availability_zone;
DROP TABLE aggregate_metadata;
DROP TABLE aggregate_hosts;
DROP TABLE aggregates;
