-- 0011_publication_holder_groups: which holder group holds each publication, interval by
-- interval (docs/schema.md). The holder parties of a publication are its original assignees,
-- else its applicants, else its current assignees (the first role a source shows); each is
-- mapped through the `holders` view (names -> holders -> groups over time, with the share of a
-- co-owned patent). `group_label` is the group's latest name, so time series keep one label
-- across renames (Hitachi Metals -> Proterial); `group_id` is the stable key.
-- Transfers outside the lineage file (assignments to an unrelated company) are not tracked
-- here: `current_assignee` rows show them as the pages printed them.
-- Inventors listed among the applicants beside an organisation (the usual WO/EP pattern of
-- inventor-applicants for the US designation) are not holders here; an inventor who is the only
-- holder shown (an unassigned US patent is owned by its inventors) stays one.

CREATE VIEW publication_holder_groups AS
WITH ranked AS (
    SELECT pub_key, name_as_written, role,
           CASE role WHEN 'original_assignee' THEN 1 WHEN 'applicant' THEN 2 WHEN 'current_assignee' THEN 3 END AS role_rank
    FROM parties
    WHERE role <> 'inventor'
), chosen AS (
    SELECT DISTINCT r.pub_key, r.name_as_written, r.role
    FROM ranked r
    WHERE r.role_rank = (SELECT min(x.role_rank) FROM ranked x WHERE x.pub_key = r.pub_key)
), labels AS (
    SELECT group_id, arg_max(group_name, coalesce(valid_from, DATE '1900-01-01')) AS group_label,
           arg_max(group_country, coalesce(valid_from, DATE '1900-01-01')) AS label_country
    FROM holder_groups GROUP BY group_id
), parts AS (
    SELECT c.pub_key, c.role AS holder_role, h.name_as_written, h.part_as_written, h.entity_id, h.holder,
           h.group_id, h.holder_group AS group_name, h.group_country, h.valid_from, h.valid_to,
           h.kind, h.lineage_confirmed
    FROM chosen c
    JOIN holders h ON h.name_as_written = c.name_as_written
    WHERE h.group_id IS NOT NULL
), flagged AS (
    SELECT *, bool_or(kind = 'organisation') OVER (PARTITION BY pub_key) AS has_organisation,
           (kind = 'person' AND coalesce((SELECT kind_evidence FROM holder_names hn
                                          WHERE hn.name_as_written = parts.name_as_written LIMIT 1), '')
                                 LIKE 'same name as an inventor%') AS is_inventor
    FROM parts
)
SELECT p.pub_key, p.holder_role, p.name_as_written, p.part_as_written, p.entity_id, p.holder,
       p.group_id, p.group_name, l.group_label, coalesce(p.group_country, l.label_country) AS group_country,
       p.valid_from, p.valid_to, p.kind, p.lineage_confirmed
FROM flagged p
LEFT JOIN labels l USING (group_id)
WHERE NOT (p.is_inventor AND p.has_organisation);
