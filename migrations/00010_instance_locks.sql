-- Server locks, as nova's instances.locked and locked_by columns, and the
-- reason of a lock (2.73), which nova keeps in the instance's
-- system_metadata as locked_reason; gonova keeps it beside the lock. And
-- the server's description (2.19), nova's display_description; its
-- hostname (2.90; nova's default is the sanitized name) and the reservation
-- id of the request that created it (the 2.3 extended attributes).

-- +goose Up
ALTER TABLE instances
    ADD COLUMN locked        boolean NOT NULL DEFAULT false,
    ADD COLUMN locked_by     varchar(255),
    ADD COLUMN locked_reason varchar(255),
    ADD COLUMN display_description text,
    ADD COLUMN hostname            varchar(255),
    ADD COLUMN reservation_id      varchar(255);

-- +goose Down
ALTER TABLE instances
    DROP COLUMN locked,
    DROP COLUMN locked_by,
    DROP COLUMN locked_reason,
    DROP COLUMN display_description,
    DROP COLUMN hostname,
    DROP COLUMN reservation_id;
