-- name: publication_detail
-- description: Everything the warehouse holds on one publication, one row per field value and source, with the value the publications row carries marked chosen.
-- param: pub text -- publication number in any common form: US4770723A, US-4770723-A, US-4770723, "US 4,770,723"
WITH wanted AS (
    SELECT upper(regexp_replace($pub, '[\s,\-]', '', 'g')) AS n
)
SELECT f.pub_key, p.pub_number, f.field, f.value, f.chosen, f.source, f.source_record, f.source_url
FROM publications p
JOIN field_values f USING (pub_key), wanted
WHERE replace(p.pub_number, '-', '') = wanted.n OR replace(p.pub_key, '-', '') = wanted.n
ORDER BY f.field, f.chosen DESC, f.source_record;
