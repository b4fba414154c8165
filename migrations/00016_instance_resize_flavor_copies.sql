-- The rest of the flavors of a resize in progress (name, ephemeral, swap,
-- rxtx factor, extra specs: the instances.flavor copy of 00008): the
-- instance's copy becomes new_flavor at finish_resize and goes back to
-- old_flavor at a revert, as nova's instance.flavor follows its
-- new_flavor and old_flavor. NULL when no resize runs.

-- +goose Up
ALTER TABLE instances
    ADD COLUMN old_flavor jsonb,
    ADD COLUMN new_flavor jsonb;

-- +goose Down
ALTER TABLE instances
    DROP COLUMN old_flavor,
    DROP COLUMN new_flavor;
