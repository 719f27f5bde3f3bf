-- How each recorded rollout went, and which revisions were rollbacks.

alter table observed_revision
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
