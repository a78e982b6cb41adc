-- name: findings_cliffs
-- description: When the wall falls (patentscope findings, block 2): each holder group's cliff, the year by which half of its families in force at the status date expire, largest holders first; families_in_force counts their in-force families.
SELECT holder_group, families_in_force, cliff_year, cliff_date, last_expiry, status_date
FROM holder_cliffs WHERE holder_group <> '(no holder shown)'
ORDER BY families_in_force DESC, holder_group;
