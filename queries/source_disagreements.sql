-- name: source_disagreements
-- description: Fields where two sources (pages) showed different values for the same publication, with every value and where it came from.
-- param: field text = null -- only this field (e.g. title, status_as_shown, original_assignee); null = all
WITH d AS (
    SELECT pub_key, field
    FROM field_values
    WHERE $field IS NULL OR field = $field
    GROUP BY pub_key, field
    HAVING min(value) <> max(value)   -- value is NOT NULL: two values differ (cheaper than count(DISTINCT))
)
SELECT f.pub_key, f.field, f.value, f.chosen, f.source_record, f.source_url
FROM field_values f JOIN d USING (pub_key, field)
ORDER BY f.pub_key, f.field, f.chosen DESC, f.source_record;
