-- Every backup run the panel saw, scheduled or manual: kept here so the list outlives the
-- CronJob's job history limits, the Jobs' deletion and the server's restarts. A run is
-- written when first seen and again when it ends; an ended run is never rewritten.
create table backup_run (
    id bigserial primary key,
    environment text not null,
    -- The Job, by name and uid (a name can come back after a Job is deleted).
    job text not null,
    job_uid text not null,
    cronjob text not null,
    -- Made by hand (`kubectl create job --from`, Gantry's "Back up now"), not scheduled.
    manual boolean not null,
    -- Gantry's request, and who asked, when Gantry made it.
    request_id bigint,
    requested_by text,
    state text not null check (state in ('running', 'succeeded', 'failed')),
    -- Why it failed, in the words the script, its log or Kubernetes gave.
    reason text,
    started_at timestamptz,
    finished_at timestamptz,
    -- What a successful run reported (its termination message).
    file text,
    location text,
    bytes bigint,
    sha256 text,
    entries bigint,
    pg_dump_version text,
    server_version text,
    retained jsonb,
    retained_count bigint,
    seen_at timestamptz not null default now(),
    unique (environment, job_uid),
    check ((state = 'succeeded') = (file is not null and bytes is not null and sha256 is not null)),
    check ((state = 'failed') = (reason is not null)),
    check ((state = 'running') = (finished_at is null))
);

create index backup_run_newest on backup_run (environment, started_at desc nulls last, id desc);
create index backup_run_good on backup_run (environment, finished_at desc) where state = 'succeeded';
