-- name: ingest_runs
-- description: The most recent ingest runs with their status and row counts (runs left 'running' with no finish time were interrupted).
-- param: limit int = 20 -- how many runs
SELECT run_id, source, status, started_at, finished_at, rows_read, rows_loaded, rows_rejected, message
FROM ingest_runs
ORDER BY run_id DESC
LIMIT $limit;
