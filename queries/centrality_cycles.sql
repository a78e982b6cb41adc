-- name: centrality_cycles
-- description: Families caught in citation cycles (a family cites one that cites it back, directly or through others: usually later family members citing each other). PageRank handles them exactly; the main path treats each cycle as one node. One row per family in a cycle, with the cycle's size and the families it cites inside the warehouse.
SELECT c.family_id, c.members, c.scc_size AS cycle_size, c.family_date,
       list_sort(list_distinct(list(l.cited_family_id) FILTER (WHERE l.cited_family_id IS NOT NULL))) AS cites_families
FROM centrality c
LEFT JOIN citation_links l ON l.citing_family_id = c.family_id AND l.cited_family_id <> c.family_id
WHERE c.scc_size > 1
GROUP BY ALL
ORDER BY cycle_size DESC, c.family_id;
