-- Server groups (nova's instance_groups, instance_group_policy and
-- instance_group_member): one policy per group (nova's 2.64 model; the
-- older list form holds exactly one too) and its rules. A member row is
-- added when a server is created with the group hint; members whose
-- instance is deleted are not shown or counted (nova filters them the same
-- way). Groups are deleted for good, as nova's are.

-- +goose Up
CREATE TABLE server_groups (
    id          bigserial PRIMARY KEY,
    uuid        uuid NOT NULL UNIQUE,
    name        text NOT NULL,
    project_id  text NOT NULL,
    user_id     text NOT NULL,
    policy      text NOT NULL,
    rules       jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz
);
CREATE INDEX server_groups_project_idx ON server_groups (project_id, user_id);

CREATE TABLE server_group_members (
    group_id       bigint NOT NULL REFERENCES server_groups (id) ON DELETE CASCADE,
    instance_uuid  uuid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, instance_uuid)
);
CREATE INDEX server_group_members_instance_idx ON server_group_members (instance_uuid);

-- +goose Down
DROP TABLE server_group_members;
DROP TABLE server_groups;
