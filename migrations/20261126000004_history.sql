-- Deployment history that outlives the cluster's pruning: every ReplicaSet revision and
-- every Argo CD history entry the panel has seen, recorded once each (re-lists and
-- restarts insert nothing new: the unique keys below).

create table observed_revision (
    observed_revision_id bigint generated always as identity primary key,
    environment text not null,
    workload text not null,
    -- The revision number the Deployment controller gave (a reused ReplicaSet gets a new
    -- number: a rollback is a new row for the same ReplicaSet).
    revision bigint not null,
    replicaset text not null,
    template_hash text not null,
    -- "container=image:tag", one per container.
    images text[] not null,
    -- kubernetes.io/change-cause, when someone set it.
    change_cause text,
    -- When the ReplicaSet was created, and when the panel first saw this revision.
    created_at timestamptz not null,
    first_seen timestamptz not null default now(),
    -- The pod template (for diffs). A template names Secrets, it never holds their values.
    template jsonb not null,
    -- The revision recorded before it for the same workload, when there is one, and its
    -- images: written with the row, so the timeline reads one index and no neighbours.
    previous_revision bigint,
    previous_images text[],
    unique (environment, workload, replicaset, revision)
);

-- The timeline reads the newest revisions (scanning the first index backwards, or the
-- second for one environment and workload).
create index observed_revision_created_idx on observed_revision (created_at, revision);
create index observed_revision_environment_idx
    on observed_revision (environment, workload, created_at, revision);

create table argo_history (
    environment text not null,
    application text not null,
    history_id bigint not null,
    revision text not null,
    deployed_at timestamptz not null,
    deploy_started_at timestamptz,
    -- The person (username) or "automated sync".
    initiated_by text not null,
    first_seen timestamptz not null default now(),
    primary key (environment, application, history_id)
);

create index argo_history_deployed_idx on argo_history (deployed_at desc);
