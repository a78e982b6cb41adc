-- name: holder_declared_patents
-- description: Patents a holder lists as its own (e.g. Showa Denko's R-T-B alloy notice) and whether each is in the warehouse.
-- param: holder text = null -- holder name as the notice writes it; null = all
SELECT d.holder, d.office, d.number_as_written, d.pub_key,
       p.pub_key IS NOT NULL AS in_warehouse, p.title, d.source_url
FROM holder_declared_patents d
LEFT JOIN publications p ON p.pub_key = d.pub_key
WHERE $holder IS NULL OR d.holder = $holder
ORDER BY d.holder, d.office, d.number_as_written;
