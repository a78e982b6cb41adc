-- name: centrality_of_publication
-- description: Citation centrality of the family of one publication: forward citations (all, within 5 and 10 years, percentile in its filing-year cohort), PageRank and its rank, age-rescaled PageRank and its rank, HITS authority, main-path membership, and the cohort it is compared with.
-- param: pub_key text -- canonical key CC-NUMBER, e.g. US-4770723
SELECT c.family_id, c.members, c.in_landscape, c.family_date, c.date_basis, c.cohort_year, c.cohort_size,
       c.forward_citations, c.citing_families, c.forward_citations_5y, c.window_5y_complete,
       c.forward_citations_10y, c.window_10y_complete, c.forward_citations_percentile, c.backward_citations,
       c.pagerank, c.rank_pagerank, c.pagerank_rescaled, c.rank_rescaled_pagerank,
       c.hits_authority, c.on_main_path, c.main_path_spc, c.scc_size,
       (SELECT count(*) FROM centrality) AS families_ranked
FROM centrality c
WHERE c.family_id = coalesce((SELECT family_id FROM publications WHERE pub_key = $pub_key), 'PUB:' || $pub_key);
