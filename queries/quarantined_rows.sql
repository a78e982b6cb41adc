-- name: quarantined_rows
-- description: Input rows that an ingest rejected, with file, line, column and reason; nothing else of these rows was loaded.
-- param: run_id int = null -- only this run; null = all runs
SELECT run_id, source, file, line, col AS column_name, reason
FROM quarantine
WHERE $run_id IS NULL OR run_id = $run_id
ORDER BY run_id DESC, file, line;
