-- name: expiry_holder_cliffs
-- description: Each holder group's cliff: the date by which half of its families in force at the status date will have expired on their expected expiry dates (no further lapses assumed), from the holder_cliffs table written by `patentscope analyze`.
-- param: min_families int = 1 -- only holder groups with at least this many families in force
SELECT holder_group,
       families_in_force,
       cliff_year,
       cliff_date,
       last_expiry,
       status_date,
       holder_basis
FROM holder_cliffs
WHERE families_in_force >= $min_families
ORDER BY families_in_force DESC, cliff_date, holder_group;
