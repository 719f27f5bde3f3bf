-- Signed-in sessions, shared by every replica (tower-sessions' PostgreSQL store reads and
-- writes this table by name: its shape is the store's).
create table user_session (
    id text primary key not null,
    data bytea not null,
    expiry_date timestamptz not null
);

-- Expired sessions are deleted in the background by expiry date.
create index user_session_expiry_date_idx on user_session (expiry_date);

-- The audit log: every sign-in, sign-out and refusal (and, with actions, every request,
-- approval and execution). Hash-chained: each event stores the hash of the one before it
-- and its own hash over its contents, so a changed, removed or reordered event shows when
-- the chain is checked (`gantry audit verify`).
create table audit_event (
    audit_event_id bigint generated always as identity primary key,
    occurred_at timestamptz not null,
    -- sign_in, sign_in_refused, sign_out, denied, ...
    kind text not null,
    -- Who, when known (a refused sign-in may not say who it was).
    user_id text,
    display_name text,
    -- Where: the environment and the object acted on (a workload), if any.
    environment text,
    object text,
    action text,
    -- ok, refused, failed, ...
    outcome text not null,
    -- The action request it belongs to, if any.
    request_id bigint,
    -- Why it ended as it did, in words.
    reason text,
    -- What was asked for (method and path).
    request text,
    client_addr text,
    -- The X-Forwarded-For header as received: only meaningful behind a trusted proxy.
    forwarded_for text,
    previous_hash bytea not null,
    hash bytea not null unique
);

create index audit_event_occurred_at_idx on audit_event (occurred_at desc);
create index audit_event_user_id_idx on audit_event (user_id, occurred_at desc);
create index audit_event_environment_idx on audit_event (environment, occurred_at desc);

-- Append-only, whoever asks: the application can add events, never change or remove
-- them. (Getting past this takes a superuser disabling triggers; the hash chain shows
-- what they did.)
create function audit_event_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_event is append-only: % is refused', tg_op;
end;
$$;

create trigger audit_event_no_change before update or delete on audit_event
    for each row execute function audit_event_append_only();
create trigger audit_event_no_truncate before truncate on audit_event
    for each statement execute function audit_event_append_only();
