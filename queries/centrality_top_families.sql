-- name: centrality_top_families
-- description: Top patent families by a citation-centrality measure (candidate basic patents): age-rescaled PageRank by default, or pagerank, forward_citations, forward_citations_percentile, forward_citations_5y, forward_citations_10y, hits_authority. Needs `patentscope analyze`; definitions in docs/centrality.md.
-- param: by text = pagerank_rescaled -- measure to rank by (see the description)
-- param: top int = 20 -- how many families
-- param: landscape_only bool = true -- only families with a member in the landscape
SELECT row_number() OVER (ORDER BY v.score DESC, v.family_id) AS rank,
       v.family_id, v.members, v.family_date, v.score AS value,
       v.forward_citations, v.forward_citations_5y, v.forward_citations_10y, v.forward_citations_percentile,
       v.pagerank, v.pagerank_rescaled, v.hits_authority, v.on_main_path, v.in_landscape
FROM (
    SELECT c.*,
           CASE $by
               WHEN 'pagerank_rescaled' THEN c.pagerank_rescaled
               WHEN 'pagerank' THEN c.pagerank
               WHEN 'forward_citations' THEN c.forward_citations
               WHEN 'forward_citations_percentile' THEN c.forward_citations_percentile
               WHEN 'forward_citations_5y' THEN c.forward_citations_5y
               WHEN 'forward_citations_10y' THEN c.forward_citations_10y
               WHEN 'hits_authority' THEN c.hits_authority
               ELSE error('by must be one of pagerank_rescaled, pagerank, forward_citations, forward_citations_percentile, forward_citations_5y, forward_citations_10y, hits_authority')
           END::DOUBLE AS score
    FROM centrality c
    WHERE c.in_landscape OR NOT $landscape_only
) v
WHERE v.score IS NOT NULL
ORDER BY rank
LIMIT $top;
