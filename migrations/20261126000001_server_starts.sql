-- Every start of a Gantry server process: which version ran, where, from when.
-- Operators use it to see rollouts of Gantry itself across replicas.
create table server_start (
    server_start_id bigint generated always as identity primary key,
    version text not null,
    hostname text not null,
    created_at timestamptz not null default now()
);

create index server_start_created_at_idx on server_start (created_at desc);
