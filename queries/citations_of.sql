-- name: citations_of
-- description: Backward references of a publication as its pages listed them (with the canonical number where it could be read), and the publications in the warehouse that cite it.
-- param: pub_key text -- canonical key CC-NUMBER, e.g. US-5110374 or US-4770723
SELECT 'cites' AS direction, c.citing_pub_key AS pub_key, c.cited_as_written AS reference,
       c.cited_pub_key AS other_pub_key, c.cited_year AS year, c.reference_type, c.source_url
FROM citations c WHERE c.citing_pub_key = $pub_key
UNION ALL
SELECT 'cited by', c.cited_pub_key, c.cited_as_written, c.citing_pub_key, c.cited_year, c.reference_type, c.source_url
FROM citations c WHERE c.cited_pub_key = $pub_key
ORDER BY direction DESC, other_pub_key NULLS LAST, reference;
