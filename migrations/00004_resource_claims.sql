-- Resource claims in the database. A compute node's allocation ratios and
-- reserved amounts (nova keeps them in placement's inventory; gonova has no
-- placement), written by its nova-compute; and the node whose resources an
-- instance holds, set and cleared together with the node's usage counters in
-- one statement, so that claims hold across any number of API processes.
-- A row written before this migration has ratio 1.0 and nothing reserved.

-- +goose Up
ALTER TABLE compute_nodes
    ADD COLUMN cpu_allocation_ratio  double precision NOT NULL DEFAULT 1.0,
    ADD COLUMN ram_allocation_ratio  double precision NOT NULL DEFAULT 1.0,
    ADD COLUMN disk_allocation_ratio double precision NOT NULL DEFAULT 1.0,
    ADD COLUMN vcpus_reserved        integer NOT NULL DEFAULT 0,
    ADD COLUMN memory_mb_reserved    bigint NOT NULL DEFAULT 0,
    ADD COLUMN local_gb_reserved     bigint NOT NULL DEFAULT 0;

ALTER TABLE instances ADD COLUMN claim_node_id integer;
CREATE INDEX instances_claim_node_idx ON instances (claim_node_id) WHERE claim_node_id IS NOT NULL;

-- +goose Down
DROP INDEX instances_claim_node_idx;
ALTER TABLE instances DROP COLUMN claim_node_id;
ALTER TABLE compute_nodes
    DROP COLUMN cpu_allocation_ratio,
    DROP COLUMN ram_allocation_ratio,
    DROP COLUMN disk_allocation_ratio,
    DROP COLUMN vcpus_reserved,
    DROP COLUMN memory_mb_reserved,
    DROP COLUMN local_gb_reserved;
