-- What a server keeps besides its row: its tags (nova's tags table, here a
-- text[] on the row with a GIN index for the tags filters of the servers
-- list: tags @> / && run in the index), the key pair it was booted with
-- (nova's key_name column) and its copy of the flavor beyond the sizes the
-- row already holds (nova's instance_extra.flavor: name, ephemeral, swap,
-- rxtx_factor and extra specs), so a server still shows its flavor after the
-- flavor is deleted.

-- +goose Up
ALTER TABLE instances
    ADD COLUMN tags     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN key_name varchar(255),
    ADD COLUMN flavor   jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX instances_tags_idx ON instances USING gin (tags);

-- +goose Down
DROP INDEX instances_tags_idx;
ALTER TABLE instances
    DROP COLUMN tags,
    DROP COLUMN key_name,
    DROP COLUMN flavor;
