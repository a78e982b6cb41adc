-- name: centrality_main_path
-- description: The key-route main path of the landscape's citation network, arc by arc in the direction knowledge flows (cited family -> citing family), with search path counts (normalised: share of all source-to-sink citation paths through the arc) and a title and date for each end.
SELECT m.cited_family_id,
       cd.members[1]          AS cited_example,
       pcd.title              AS cited_title,
       cd.family_date         AS cited_date,
       m.citing_family_id,
       cg.members[1]          AS citing_example,
       pcg.title              AS citing_title,
       cg.family_date         AS citing_date,
       m.spc_normalised,
       m.log10_spc
FROM centrality_main_path m
LEFT JOIN centrality cd ON cd.family_id = m.cited_family_id
LEFT JOIN centrality cg ON cg.family_id = m.citing_family_id
LEFT JOIN publications pcd ON pcd.pub_key = cd.members[1]
LEFT JOIN publications pcg ON pcg.pub_key = cg.members[1]
ORDER BY cd.family_date NULLS LAST, m.cited_family_id, m.citing_family_id;
