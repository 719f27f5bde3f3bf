-- Signed-in sessions, shared by every replica (tower-sessions' PostgreSQL store reads and
-- writes this table by name: its shape is the store's).
create table user_session (
    id text primary key not null,
    data bytea not null,
    expiry_date timestamptz not null
);

-- Expired sessions are deleted in the background by expiry date.
create index user_session_expiry_date_idx on user_session (expiry_date);

-- Sign-ins, sign-outs, refused sign-ins and refused requests. The audit log (actions)
-- reads these into its hash chain; until then this table is their record.
create table access_event (
    access_event_id bigint generated always as identity primary key,
    -- sign_in, sign_in_refused, sign_out, denied
    kind text not null check (kind in ('sign_in', 'sign_in_refused', 'sign_out', 'denied')),
    -- The person, when known (a refused sign-in may not say who it was).
    user_id text,
    display_name text,
    environment text,
    action text,
    -- What was asked for (method and path) and why it ended as it did, in words.
    request text,
    reason text,
    client_addr text,
    -- The X-Forwarded-For header as received: only meaningful behind a trusted proxy.
    forwarded_for text,
    created_at timestamptz not null default now()
);

create index access_event_created_at_idx on access_event (created_at desc);
create index access_event_user_id_idx on access_event (user_id, created_at desc);
