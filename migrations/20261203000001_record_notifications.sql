-- Every write to the tables the record pages read (requests and their decisions, the audit
-- log, the recorded history, backup runs) tells every Gantry server listening on
-- `gantry_records` which table changed, once per statement and only when the transaction
-- commits. The servers keep the newest rows of those pages in memory and drop them when
-- told, so a change made through one replica (or by hand in psql) shows on the others.
create function gantry_records_changed() returns trigger
    language plpgsql as $$
begin
    perform pg_notify('gantry_records', tg_table_name);
    return null;
end;
$$;

create trigger action_request_changed after insert or update or delete or truncate
    on action_request for each statement execute function gantry_records_changed();
create trigger action_decision_changed after insert or update or delete or truncate
    on action_decision for each statement execute function gantry_records_changed();
create trigger audit_event_changed after insert
    on audit_event for each statement execute function gantry_records_changed();
create trigger observed_revision_changed after insert or update or delete or truncate
    on observed_revision for each statement execute function gantry_records_changed();
create trigger argo_history_changed after insert or update or delete or truncate
    on argo_history for each statement execute function gantry_records_changed();
create trigger argo_failed_sync_changed after insert or update or delete or truncate
    on argo_failed_sync for each statement execute function gantry_records_changed();
create trigger backup_run_changed after insert or update or delete or truncate
    on backup_run for each statement execute function gantry_records_changed();
