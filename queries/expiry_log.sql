-- name: expiry_log
-- description: The calculation log of one publication's expiry as stored by the last `patentscope analyze`, one line per row (rule, inputs, overrides, status). `patentscope expiry NUMBER` computes the same live, for any date.
-- param: pub text -- publication number in any common form: US4770723A, US-4770723-A, US-4770723, "US 4,770,723"
WITH wanted AS (
    SELECT upper(regexp_replace($pub, '[\s,\-]', '', 'g')) AS n
)
SELECT e.pub_key, e.jurisdiction, e.status, e.expiry_date, l.line_no, l.line
FROM expiry_results e, wanted,
     LATERAL (SELECT generate_subscripts(e.calculation_log, 1) AS line_no, unnest(e.calculation_log) AS line) l
WHERE replace(e.pub_number, '-', '') = wanted.n OR replace(e.pub_key, '-', '') = wanted.n
ORDER BY e.pub_key, e.jurisdiction <> e.office, e.jurisdiction, l.line_no;
