-- Action requests: a change someone asked the panel to make (sync, scale, restart,
-- rollback, resume auto-sync), what it saw and exactly what it will do, the decisions on
-- it, and how it ended. Every transition is also an audit event, written in the same
-- transaction as the transition itself.
create table action_request (
    request_id bigint generated always as identity primary key,
    environment text not null,
    -- sync, scale, restart, rollback, resume_auto_sync
    action text not null,
    -- What it acts on, as Kind/name ("Deployment/backend", "Application/co2-calculator-prod").
    object text not null,
    requested_by text not null,
    requested_by_name text not null,
    -- Mandatory when approval is needed or the glass is broken; may be empty otherwise.
    reason text not null,
    -- The plan as the server made it: what it saw (resourceVersion, revision, replicas,
    -- Argo CD revision) and what it will do. Execution re-checks what it saw.
    plan jsonb not null,
    -- The plan in words ("replicas 3 → 5"), as shown to the requester and the approvers.
    preview text not null,
    -- The resourceVersion of the object the plan was made from, as the panel saw it.
    seen_resource_version text,
    approvals_needed smallint not null check (approvals_needed between 0 and 10),
    state text not null check (state in ('pending', 'approved', 'executing', 'succeeded',
        'failed', 'rejected', 'expired', 'cancelled', 'superseded')),
    -- An admin ran it without the approvals the policy asks for; shown until someone else
    -- acknowledges it.
    break_glass boolean not null default false,
    requested_at timestamptz not null default now(),
    -- Pending requests expire; null when the request needed no approval.
    expires_at timestamptz,
    -- The last change of state, and what it said ("approved by …", the Kubernetes error).
    updated_at timestamptz not null default now(),
    -- The server that claimed it for execution (its host name), and when.
    executor text,
    started_at timestamptz,
    finished_at timestamptz,
    result text,
    acknowledged_by text,
    acknowledged_by_name text,
    acknowledged_at timestamptz,
    check (not break_glass or reason <> ''),
    check (approvals_needed = 0 or reason <> '')
);

-- The sweeper and the pages look for open requests; history reads by environment or person.
create index action_request_open_idx on action_request (state)
    where state in ('pending', 'approved', 'executing');
create index action_request_environment_idx on action_request (environment, requested_at desc);
create index action_request_requested_by_idx on action_request (requested_by, requested_at desc);

-- Approvals and rejections: one per person per request, so N approvals are N people.
create table action_decision (
    request_id bigint not null references action_request on delete restrict,
    user_id text not null,
    display_name text not null,
    decision text not null check (decision in ('approve', 'reject')),
    comment text not null default '',
    decided_at timestamptz not null default now(),
    primary key (request_id, user_id)
);
