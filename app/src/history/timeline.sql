-- The timeline's workload revisions, newest first: an index scan (the history tests check
-- the plan with EXPLAIN).
select environment, workload, revision, replicaset, images, change_cause,
       (extract(epoch from created_at) * 1000)::int8 as "created_ms!",
       previous_images, previous_revision
from observed_revision
where environment = any($1)
  and ($2::text is null or environment = $2)
  and ($3::text is null or workload = $3)
order by created_at desc, revision desc
limit $4
