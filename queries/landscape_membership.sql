-- name: landscape_membership
-- description: Why records are in (or out of) the landscape: the rule that selected them (CPC code, keyword, CPC plus keyword, or the curator's relevance flag of the sample).
SELECT in_landscape,
       coalesce(split_part(landscape_reason, ':', 1), '(not selected)') AS rule,
       count(*) AS publications,
       count(DISTINCT family_id) AS families
FROM publications
GROUP BY ALL
ORDER BY in_landscape DESC, publications DESC;
