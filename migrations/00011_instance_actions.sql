-- Instance actions and their events: nova's instance_actions and
-- instance_actions_events (os-instance-actions). The API records an action
-- for each server action, with the request id; computes record the events
-- of their part (compute_stop_instance, ...). Actions outlive their
-- instance, as in nova: a deleted server's actions are still listed (2.21).

-- +goose Up
CREATE TABLE instance_actions (
    id            serial PRIMARY KEY,
    action        varchar(255) NOT NULL,
    instance_uuid uuid NOT NULL,
    request_id    varchar(255) NOT NULL,
    user_id       varchar(255) NOT NULL DEFAULT '',
    project_id    varchar(255) NOT NULL DEFAULT '',
    start_time    timestamptz NOT NULL,
    finish_time   timestamptz,
    message       varchar(255),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz
);
CREATE INDEX instance_actions_instance_uuid_idx ON instance_actions (instance_uuid, created_at DESC, id DESC);
CREATE INDEX instance_actions_request_id_idx ON instance_actions (instance_uuid, request_id);

CREATE TABLE instance_actions_events (
    id          serial PRIMARY KEY,
    action_id   integer NOT NULL REFERENCES instance_actions (id) ON DELETE CASCADE,
    event       varchar(255) NOT NULL,
    start_time  timestamptz NOT NULL,
    finish_time timestamptz,
    result      varchar(255),
    traceback   text,
    host        varchar(255),
    details     text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz
);
CREATE INDEX instance_actions_events_action_id_idx ON instance_actions_events (action_id, event);

-- +goose Down
DROP TABLE instance_actions_events;
DROP TABLE instance_actions;
