-- name: families_counts
-- description: Per family (DOCDB simple family where a source gave one): publications, offices, CPC symbols, backward citations, legal events and how many of them are lapses, fee payments and grants. Families are the unit for counting inventions; EPO OPS ingests give every member its DOCDB family id.
-- param: min_publications int = 1 -- hide families with fewer publications
-- param: docdb_only bool = false -- only families whose id a source gave (family_id_source = 'docdb')
WITH pubs AS (
    SELECT pub_key, family_id, family_id_source, country, in_landscape FROM publications
), cpc AS (
    SELECT p.family_id, count(DISTINCT c.symbol) AS cpc_symbols
    FROM classifications c JOIN pubs p USING (pub_key)
    WHERE c.scheme = 'CPC' GROUP BY p.family_id
), cites AS (
    SELECT p.family_id, count(*) AS citations
    FROM citations c JOIN pubs p ON p.pub_key = c.citing_pub_key GROUP BY p.family_id
), events AS (
    SELECT p.family_id, count(*) AS legal_events,
           count(*) FILTER (WHERE e.effect = 'lapse')    AS lapses,
           count(*) FILTER (WHERE e.effect = 'fee_paid') AS fees_paid,
           count(*) FILTER (WHERE e.effect = 'grant')    AS grants
    FROM legal_events e JOIN pubs p USING (pub_key) GROUP BY p.family_id
)
SELECT f.family_id,
       any_value(f.family_id_source)              AS family_id_source,
       count(*)                                   AS publications,
       list_sort(list_distinct(list(f.country)))  AS offices,
       bool_or(f.in_landscape)                    AS in_landscape,
       coalesce(any_value(cpc.cpc_symbols), 0)    AS cpc_symbols,
       coalesce(any_value(cites.citations), 0)    AS citations,
       coalesce(any_value(events.legal_events), 0) AS legal_events,
       coalesce(any_value(events.lapses), 0)      AS lapses,
       coalesce(any_value(events.fees_paid), 0)   AS fees_paid,
       coalesce(any_value(events.grants), 0)      AS grants
FROM pubs f
LEFT JOIN cpc USING (family_id)
LEFT JOIN cites USING (family_id)
LEFT JOIN events USING (family_id)
WHERE f.family_id_source = 'docdb' OR NOT $docdb_only
GROUP BY f.family_id
HAVING count(*) >= $min_publications
ORDER BY publications DESC, f.family_id;
