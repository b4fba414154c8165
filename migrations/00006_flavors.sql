-- Flavors, their extra specs and the projects that may use a private one:
-- nova's API-database tables flavors, flavor_extra_specs and
-- flavor_projects. As in nova's API database, a deleted flavor is gone (no
-- soft delete): an instance keeps its own copy of the flavor it was built
-- with (migration 00008). flavorid and name are unique, as nova's
-- uniq_flavors0flavorid and uniq_flavors0name.

-- +goose Up
CREATE TABLE flavors (
    id           serial PRIMARY KEY,
    flavorid     varchar(255) NOT NULL,
    name         varchar(255) NOT NULL,
    memory_mb    integer NOT NULL,
    vcpus        integer NOT NULL,
    root_gb      integer NOT NULL DEFAULT 0,
    ephemeral_gb integer NOT NULL DEFAULT 0,
    swap         integer NOT NULL DEFAULT 0,
    rxtx_factor  double precision NOT NULL DEFAULT 1.0,
    vcpu_weight  integer,
    disabled     boolean NOT NULL DEFAULT false,
    is_public    boolean NOT NULL DEFAULT true,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz,
    CONSTRAINT uniq_flavors0flavorid UNIQUE (flavorid),
    CONSTRAINT uniq_flavors0name UNIQUE (name)
);

CREATE TABLE flavor_extra_specs (
    id         serial PRIMARY KEY,
    flavor_id  integer NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
    key        varchar(255) NOT NULL,
    value      varchar(255),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    CONSTRAINT uniq_flavor_extra_specs0flavor_id0key UNIQUE (flavor_id, key)
);

CREATE TABLE flavor_projects (
    id         serial PRIMARY KEY,
    flavor_id  integer NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
    project_id varchar(255) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uniq_flavor_projects0flavor_id0project_id UNIQUE (flavor_id, project_id)
);
CREATE INDEX flavor_projects_project_id_idx ON flavor_projects (project_id);

-- +goose Down
DROP TABLE flavor_projects;
DROP TABLE flavor_extra_specs;
DROP TABLE flavors;
