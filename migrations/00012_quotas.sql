-- Quotas, as nova's DbQuotaDriver keeps them (the api database's quotas
-- and project_user_quotas tables, in one): a row is a limit os-quota-sets
-- set for a project (user_id '') or for one user of it; a resource without a
-- row takes the user's project limit, then [quota]'s default. Usage is not
-- stored: it is counted from the live rows (instances), under a
-- per-project transaction-level advisory lock taken by every create that
-- checks the quota, so concurrent creates in any number of API processes
-- never pass the limit together.

-- +goose Up
CREATE TABLE quotas (
    project_id  text NOT NULL,
    user_id     text NOT NULL DEFAULT '',
    resource    text NOT NULL,
    hard_limit  integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz,
    PRIMARY KEY (project_id, user_id, resource)
);

-- Quota classes (nova's quota_classes): os-quota-class-sets' limits by
-- class name; the class "default" overrides [quota]'s defaults for every
-- project, as in nova's DbQuotaDriver.
CREATE TABLE quota_classes (
    class_name  text NOT NULL,
    resource    text NOT NULL,
    hard_limit  integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz,
    PRIMARY KEY (class_name, resource)
);

-- The quota count of a project (and of a user in it) reads its live
-- instances.
CREATE INDEX instances_project_user_live_idx ON instances (project_id, user_id) WHERE deleted = 0;

-- +goose Down
DROP INDEX instances_project_user_live_idx;
DROP TABLE quota_classes;
DROP TABLE quotas;
