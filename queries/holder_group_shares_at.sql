-- name: holder_group_shares_at
-- description: Each holder group's share of the landscape's families in force at a year's reference day (co-owned families split), from the in-force stock table; the inputs of the HHI.
-- param: year int -- the year, e.g. 2014
-- param: jurisdiction text = ALL -- an office (US, EP, JP, ...) or ALL (in force anywhere)
SELECT holder_group, families_in_force,
       round(families_in_force / sum(families_in_force) OVER (), 4) AS share_of_counts
FROM in_force_stock
WHERE year = $year AND jurisdiction = $jurisdiction AND holder_group <> '(no holder shown)'
ORDER BY families_in_force DESC, holder_group;
