-- compute_nodes and instances: the subset of nova's tables that nova-compute
-- writes (resources, instances it hosts) and nova-api reads (os-hypervisors,
-- servers, scheduling). Soft delete as nova: deleted = 0 while live, = id after.

-- +goose Up
CREATE TABLE compute_nodes (
    id                   serial PRIMARY KEY,
    uuid                 uuid NOT NULL UNIQUE,
    service_id           integer,
    host                 varchar(255) NOT NULL,
    hypervisor_hostname  varchar(255) NOT NULL,
    hypervisor_type      varchar(255) NOT NULL DEFAULT '',
    hypervisor_version   bigint NOT NULL DEFAULT 0,
    host_ip              varchar(64) NOT NULL DEFAULT '',
    vcpus                integer NOT NULL DEFAULT 0,
    vcpus_used           integer NOT NULL DEFAULT 0,
    memory_mb            bigint NOT NULL DEFAULT 0,
    memory_mb_used       bigint NOT NULL DEFAULT 0,
    local_gb             bigint NOT NULL DEFAULT 0,
    local_gb_used        bigint NOT NULL DEFAULT 0,
    free_ram_mb          bigint NOT NULL DEFAULT 0,
    free_disk_gb         bigint NOT NULL DEFAULT 0,
    running_vms          integer NOT NULL DEFAULT 0,
    current_workload     integer NOT NULL DEFAULT 0,
    disk_available_least bigint NOT NULL DEFAULT 0,
    cpu_info             text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz,
    deleted_at           timestamptz,
    deleted              integer NOT NULL DEFAULT 0,
    CONSTRAINT uniq_compute_nodes_host_hypervisor_hostname_deleted UNIQUE (host, hypervisor_hostname, deleted)
);

CREATE TABLE instances (
    id            serial PRIMARY KEY,
    uuid          uuid NOT NULL UNIQUE,
    display_name  varchar(255) NOT NULL DEFAULT '',
    user_id       varchar(255) NOT NULL DEFAULT '',
    project_id    varchar(255) NOT NULL DEFAULT '',
    host          varchar(255),
    node          varchar(255),
    vm_state      varchar(255) NOT NULL DEFAULT 'building',
    task_state    varchar(255),
    power_state   integer NOT NULL DEFAULT 0,
    flavor_id     varchar(255) NOT NULL DEFAULT '',
    vcpus         integer NOT NULL DEFAULT 0,
    memory_mb     bigint NOT NULL DEFAULT 0,
    root_gb       bigint NOT NULL DEFAULT 0,
    image_ref     varchar(255) NOT NULL DEFAULT '',
    launched_at   timestamptz,
    terminated_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz,
    deleted_at    timestamptz,
    deleted       integer NOT NULL DEFAULT 0
);
CREATE INDEX instances_host_deleted_idx ON instances (host, deleted);
CREATE INDEX instances_project_deleted_created_idx ON instances (project_id, deleted, created_at DESC, id DESC);

-- +goose Down
DROP TABLE instances;
DROP TABLE compute_nodes;
