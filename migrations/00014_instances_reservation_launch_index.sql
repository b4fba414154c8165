-- The place of an instance in a multiple create (nova's launch_index;
-- reservation_id came with 00010): every instance one POST /servers made shares the request's
-- reservation id ('r-' and 8 random characters) and has its place in the
-- request, 0 to N-1. The servers list filters by reservation_id (a regex, as
-- nova's), within the caller's project, so no index of its own.
-- Rows made before this migration have no reservation (NULL) and index 0.

-- +goose Up
ALTER TABLE instances
    ADD COLUMN launch_index integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE instances
    DROP COLUMN launch_index;
