-- Every write to the tables the record pages read (requests and their decisions, the audit
-- log, the recorded history, backup runs) tells every Gantry server listening on
-- `gantry_records` which table changed, when the transaction commits. Per row, so a
-- statement that changes nothing (the sweeper's expiry every 2 s, most of the time) says
-- nothing; PostgreSQL sends one notification per table and transaction however many rows. The servers keep the newest rows of those pages in memory and drop them when
-- told, so a change made through one replica (or by hand in psql) shows on the others.
create function gantry_records_changed() returns trigger
    language plpgsql as $$
begin
    perform pg_notify('gantry_records', tg_table_name);
    return null;
end;
$$;

create trigger action_request_changed after insert or update or delete
    on action_request for each row execute function gantry_records_changed();
create trigger action_request_truncated after truncate
    on action_request for each statement execute function gantry_records_changed();
create trigger action_decision_changed after insert or update or delete
    on action_decision for each row execute function gantry_records_changed();
create trigger action_decision_truncated after truncate
    on action_decision for each statement execute function gantry_records_changed();
create trigger audit_event_changed after insert
    on audit_event for each row execute function gantry_records_changed();
create trigger observed_revision_changed after insert or update or delete
    on observed_revision for each row execute function gantry_records_changed();
create trigger observed_revision_truncated after truncate
    on observed_revision for each statement execute function gantry_records_changed();
create trigger argo_history_changed after insert or update or delete
    on argo_history for each row execute function gantry_records_changed();
create trigger argo_history_truncated after truncate
    on argo_history for each statement execute function gantry_records_changed();
create trigger argo_failed_sync_changed after insert or update or delete
    on argo_failed_sync for each row execute function gantry_records_changed();
create trigger argo_failed_sync_truncated after truncate
    on argo_failed_sync for each statement execute function gantry_records_changed();
create trigger backup_run_changed after insert or update or delete
    on backup_run for each row execute function gantry_records_changed();
create trigger backup_run_truncated after truncate
    on backup_run for each statement execute function gantry_records_changed();
