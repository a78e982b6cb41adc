-- name: holders_by_group
-- description: Every holder name as written grouped under its holder group at a date (lineage applied), with the rule that joined each name. Build the tables first with `patentscope holders build`.
-- param: group text = null -- part of a holder group's name, any case (e.g. hitachi); null = all groups
-- param: day date = null -- the date for the grouping; null = today
SELECT h.holder_group,
       h.group_id,
       h.holder,
       h.holder_at_date,
       h.part_as_written,
       h.name_as_written,
       h.country,
       h.match_rule,
       h.match_score,
       h.lineage_confirmed
FROM holders h
WHERE h.entity_id IS NOT NULL
  AND (h.valid_from IS NULL OR h.valid_from <= coalesce($day, current_date))
  AND (h.valid_to IS NULL OR coalesce($day, current_date) < h.valid_to)
  AND ($group IS NULL OR h.holder_group ILIKE '%' || $group || '%')
ORDER BY h.holder_group, h.holder, h.part_as_written;
