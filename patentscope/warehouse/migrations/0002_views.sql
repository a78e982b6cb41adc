-- 0002_views: stable views for SQL users (documented in docs/schema.md).

-- One row per publication with the holder as written and the dates people count by.
CREATE VIEW publication_overview AS
WITH first_party AS (
    SELECT pub_key,
           max(CASE WHEN role = 'original_assignee' AND seq = 1 THEN name_as_written END) AS original_assignee,
           max(CASE WHEN role = 'applicant' AND seq = 1 THEN name_as_written END)         AS applicant,
           max(CASE WHEN role = 'current_assignee' AND seq = 1 THEN name_as_written END)  AS current_assignee,
           count(*) FILTER (WHERE role = 'inventor')                                      AS n_inventors
    FROM parties GROUP BY pub_key
), cpc AS (
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
       coalesce(cpc.n_classifications, 0)      AS n_classifications,
       cpc.cpc_symbols,
       coalesce(cited.n_references, 0)         AS n_references,
       coalesce(citing.n_cited_by_in_warehouse, 0) AS n_cited_by_in_warehouse,
       p.status_as_shown,
       p.in_landscape,
       p.landscape_reason,
       p.relevance,
       p.source,
       p.source_url
FROM publications p
LEFT JOIN first_party fp USING (pub_key)
LEFT JOIN cpc USING (pub_key)
LEFT JOIN cited USING (pub_key)
LEFT JOIN citing USING (pub_key);

-- One row per family: the unit every count of inventions uses.
CREATE VIEW family_overview AS
SELECT family_id,
       any_value(family_id_source)                       AS family_id_source,
       count(*)                                          AS n_publications,
       list_sort(list_distinct(list(country)))           AS offices,
       min(least(priority_date, filing_date, publication_date, grant_date)) AS earliest_date,
       bool_or(in_landscape)                             AS in_landscape,
       list_sort(list(pub_key))                          AS members
FROM publications
GROUP BY family_id;

-- Citations whose both ends are publications in the warehouse.
CREATE VIEW citation_links AS
SELECT c.citing_pub_key,
       c.cited_pub_key,
       pc.family_id AS citing_family_id,
       pd.family_id AS cited_family_id,
       c.category,
       c.source
FROM citations c
JOIN publications pc ON pc.pub_key = c.citing_pub_key
JOIN publications pd ON pd.pub_key = c.cited_pub_key;
