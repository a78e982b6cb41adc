-- name: holders_unresolved
-- description: Holder names reported unresolved (empty, punctuation only, a country or legal form only, placeholders such as "Individual", too long, mixed scripts) with the reason; they are never merged. Fix them with an overrides file.
SELECT name_as_written, part_seq, part_as_written, unresolved_reason, kind_evidence, n_party_rows
FROM holder_names
WHERE entity_id IS NULL
ORDER BY n_party_rows DESC, name_as_written, part_seq;
