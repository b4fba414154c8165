-- A resize in progress: nova's instance old_flavor/new_flavor and the second
-- resource claim its migration context holds. While a resize runs the
-- instance holds two claims: claim_node_id (its current flavor, the vcpus,
-- memory_mb and root_gb columns) and resize_node_id (the other flavor:
-- new_* on the destination until finish_resize, then old_* on the source
-- until confirm or revert). resize_finished tells which. A row written
-- before this migration has no resize.

-- +goose Up
ALTER TABLE instances
    ADD COLUMN old_flavor_id   varchar(255),
    ADD COLUMN old_vcpus       integer,
    ADD COLUMN old_memory_mb   bigint,
    ADD COLUMN old_root_gb     bigint,
    ADD COLUMN new_flavor_id   varchar(255),
    ADD COLUMN new_vcpus       integer,
    ADD COLUMN new_memory_mb   bigint,
    ADD COLUMN new_root_gb     bigint,
    ADD COLUMN resize_node_id  integer,
    ADD COLUMN resize_finished boolean NOT NULL DEFAULT false;
CREATE INDEX instances_resize_node_idx ON instances (resize_node_id) WHERE resize_node_id IS NOT NULL;

-- +goose Down
DROP INDEX instances_resize_node_idx;
ALTER TABLE instances
    DROP COLUMN old_flavor_id,
    DROP COLUMN old_vcpus,
    DROP COLUMN old_memory_mb,
    DROP COLUMN old_root_gb,
    DROP COLUMN new_flavor_id,
    DROP COLUMN new_vcpus,
    DROP COLUMN new_memory_mb,
    DROP COLUMN new_root_gb,
    DROP COLUMN resize_node_id,
    DROP COLUMN resize_finished;
