-- name: holder_group_shares_at
-- description: Families of the landscape in force at a year's reference day per holder group (in-force stock table) and each group's share of those counts. A co-owned family counts fully for each co-owner here, so these shares can differ slightly from the HHI inputs, which split it 1/k (see the concentration view).
-- param: year int -- the year, e.g. 2014
-- param: jurisdiction text = ALL -- an office (US, EP, JP, ...) or ALL (in force anywhere)
SELECT holder_group, families_in_force,
       round(families_in_force / sum(families_in_force) OVER (), 4) AS share_of_counts
FROM in_force_stock
WHERE year = $year AND jurisdiction = $jurisdiction AND holder_group <> '(no holder shown)'
ORDER BY families_in_force DESC, holder_group;
