-- name: holders_lineage
-- description: Each holder's name in force and holder group over time, interval by interval ([valid_from, valid_to), empty = open), with the lineage lines used and whether all were confirmed.
-- param: holder text = null -- part of a holder's name, any case; null = holders whose group changes over time
SELECT e.holder_name AS holder, g.seq, g.valid_from, g.valid_to, g.holder_at_date, g.group_name AS holder_group,
       g.group_id, g.group_country, g.confirmed, g.lineage_path
FROM holder_groups g
JOIN holder_entities e USING (entity_id)
WHERE ($holder IS NULL AND e.entity_id IN (SELECT entity_id FROM holder_groups WHERE seq > 1))
   OR e.holder_name ILIKE '%' || $holder || '%'
ORDER BY e.holder_name, g.seq;
