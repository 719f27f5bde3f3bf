-- The timeline's workload revisions, newest first: an index scan (the history tests check
-- the plan with EXPLAIN).
select environment, workload, kind, revision, replicaset, images, change_cause,
       (extract(epoch from created_at) * 1000)::int8 as "created_ms!",
       previous_images, previous_revision, outcome, outcome_reason, rollback_of, rolled_back_by,
       (extract(epoch from finished_at) * 1000)::int8 as finished_ms
from observed_revision
where environment = any($1)
  and ($2::text is null or environment = $2)
  and ($3::text is null or workload = $3)
  and ($5::int8 is null or created_at >= timestamptz 'epoch' + $5 * interval '1 millisecond')
  and ($6::int8 is null or created_at < timestamptz 'epoch' + $6 * interval '1 millisecond')
order by created_at desc, revision desc
limit $4
