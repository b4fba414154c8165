-- Server metadata and the fault of an instance in ERROR, which nova keeps in
-- instance_metadata and instance_faults. gonova keeps them on the row: metadata
-- as a jsonb object of strings (nova's limits are checked by the API), and the
-- latest fault only, which is all the servers API shows.

-- +goose Up
ALTER TABLE instances
    ADD COLUMN metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN fault_code       integer,
    ADD COLUMN fault_message    text,
    ADD COLUMN fault_created_at timestamptz;

-- +goose Down
ALTER TABLE instances
    DROP COLUMN metadata,
    DROP COLUMN fault_code,
    DROP COLUMN fault_message,
    DROP COLUMN fault_created_at;
