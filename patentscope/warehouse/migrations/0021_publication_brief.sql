-- 0021_publication_brief: publication_overview without its classification and citation counts
-- (issue 18; docs/schema.md).
--
-- DuckDB computes every LEFT JOIN of a view whether or not the query reads its columns, so
-- `SELECT holder_as_written FROM publication_overview` grouped the whole classification and
-- citation tables first: 2.0-2.8 s at 1M SYNTHETIC publications / 10M citations, for a column
-- that needs only the parties (the grouping of the parties alone: 0.03 s). publication_brief
-- is now the one definition of the holder as written and of the earliest date; the overview
-- is the brief plus the counts, with the same columns, in the same order, as before.

CREATE VIEW publication_brief AS
WITH first_party AS (
    SELECT pub_key,
           max(CASE WHEN role = 'original_assignee' AND seq = 1 THEN name_as_written END) AS original_assignee,
           max(CASE WHEN role = 'applicant' AND seq = 1 THEN name_as_written END)         AS applicant,
           max(CASE WHEN role = 'current_assignee' AND seq = 1 THEN name_as_written END)  AS current_assignee,
           count(*) FILTER (WHERE role = 'inventor')                                      AS n_inventors
    FROM parties GROUP BY pub_key
)
SELECT p.pub_key,
       p.pub_number,
       p.country,
       p.kind,
       p.is_grant,
       p.title,
       coalesce(fp.original_assignee, fp.applicant, fp.current_assignee) AS holder_as_written,
       fp.current_assignee                                              AS current_holder_as_written,
       p.priority_date,
       p.filing_date,
       p.publication_date,
       p.grant_date,
       least(p.priority_date, p.filing_date, p.publication_date, p.grant_date) AS earliest_date,
       year(least(p.priority_date, p.filing_date, p.publication_date, p.grant_date)) AS earliest_year,
       p.family_id,
       p.family_id_source,
       coalesce(fp.n_inventors, 0)             AS n_inventors,
       p.status_as_shown,
       p.in_landscape,
       p.landscape_reason,
       p.relevance,
       p.source,
       p.source_url
FROM publications p
LEFT JOIN first_party fp USING (pub_key);

CREATE OR REPLACE VIEW publication_overview AS
WITH cpc AS (
    SELECT pub_key, count(*) AS n_classifications,
           string_agg(symbol, ' ' ORDER BY position) FILTER (WHERE scheme = 'CPC') AS cpc_symbols
    FROM classifications GROUP BY pub_key
), cited AS (
    SELECT citing_pub_key AS pub_key, count(*) AS n_references
    FROM citations GROUP BY citing_pub_key
), citing AS (
    SELECT cited_pub_key AS pub_key, count(DISTINCT citing_pub_key) AS n_cited_by_in_warehouse
    FROM citations WHERE cited_pub_key IS NOT NULL GROUP BY cited_pub_key
)
SELECT b.pub_key,
       b.pub_number,
       b.country,
       b.kind,
       b.is_grant,
       b.title,
       b.holder_as_written,
       b.current_holder_as_written,
       b.priority_date,
       b.filing_date,
       b.publication_date,
       b.grant_date,
       b.earliest_date,
       b.earliest_year,
       b.family_id,
       b.family_id_source,
       b.n_inventors,
       coalesce(cpc.n_classifications, 0)      AS n_classifications,
       cpc.cpc_symbols,
       coalesce(cited.n_references, 0)         AS n_references,
       coalesce(citing.n_cited_by_in_warehouse, 0) AS n_cited_by_in_warehouse,
       b.status_as_shown,
       b.in_landscape,
       b.landscape_reason,
       b.relevance,
       b.source,
       b.source_url
FROM publication_brief b
LEFT JOIN cpc USING (pub_key)
LEFT JOIN cited USING (pub_key)
LEFT JOIN citing USING (pub_key);
