-- Key pairs, per user, as nova's API-database table key_pairs: a name is
-- unique for its user; a deleted key pair is gone.

-- +goose Up
CREATE TABLE key_pairs (
    id          serial PRIMARY KEY,
    name        varchar(255) NOT NULL,
    user_id     varchar(255) NOT NULL,
    fingerprint varchar(255) NOT NULL,
    public_key  text NOT NULL,
    type        varchar(16) NOT NULL DEFAULT 'ssh',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz,
    CONSTRAINT uniq_key_pairs0user_id0name UNIQUE (user_id, name)
);

-- +goose Down
DROP TABLE key_pairs;
