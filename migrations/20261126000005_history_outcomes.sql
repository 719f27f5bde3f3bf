-- How each recorded rollout went, which revisions were rollbacks, and StatefulSets'
-- revisions next to Deployments'.

alter table observed_revision
    -- Deployment: a ReplicaSet revision, numbered by Kubernetes. StatefulSet: a revision
    -- as the StatefulSet's updateRevision names it (replicaset holds that name), numbered
    -- by Gantry in the order it saw them (Kubernetes numbers them in ControllerRevisions,
    -- which Gantry does not watch).
    add column kind text not null default 'Deployment'
        check (kind in ('Deployment', 'StatefulSet')),
    -- progressing: the panel saw it under way; completed / failed: as the Deployment's
    -- Progressing condition said (NewReplicaSetAvailable / ProgressDeadlineExceeded);
    -- superseded: a newer revision replaced it before it finished. Null when the panel
    -- never saw it current (it started after that revision was replaced).
    add column outcome text
        check (outcome in ('progressing', 'completed', 'failed', 'superseded')),
    -- When it completed, failed or was replaced (the duration runs from created_at).
    add column finished_at timestamptz,
    -- Kubernetes' words when a rollout failed.
    add column outcome_reason text,
    -- A rollback reuses an older ReplicaSet under a new number: the number it reused.
    add column rollback_of bigint,
    -- The rollback that undid this revision, when one did.
    add column rolled_back_by bigint,
    -- Desired replicas when the panel first saw the revision (the ReplicaSet's
    -- deployment.kubernetes.io/desired-replicas): shown in diffs.
    add column replicas integer,
    add constraint observed_revision_finished_check
        check ((outcome in ('completed', 'failed', 'superseded')) = (finished_at is not null));

-- Argo CD sync operations that did not succeed: Argo CD adds only successful syncs to its
-- history and keeps only the last operation's result, so these are recorded from the
-- Application's operationState when they end.
create table argo_failed_sync (
    environment text not null,
    application text not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    -- Failed or Error, as Argo CD says.
    phase text not null check (phase in ('Failed', 'Error')),
    -- The revision it tried to sync to.
    revision text not null,
    message text not null,
    -- The person, or "automated sync".
    initiated_by text not null,
    first_seen timestamptz not null default now(),
    primary key (environment, application, started_at)
);

create index argo_failed_sync_started_idx on argo_failed_sync (started_at);
