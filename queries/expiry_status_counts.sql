-- name: expiry_status_counts
-- description: Publications per office, document type and status at the status date of the last `patentscope analyze`, with the case that decided the status (status_basis, e.g. missing_input, bad_input, term_range) so the unknowns can be told apart. Counts office rows only (not the national parts of EP bundles).
SELECT office,
       coalesce(document_type, '(unknown type)') AS document_type,
       status,
       status_basis,
       count(*)                  AS publications,
       count(DISTINCT family_id) AS families,
       any_value(status_date)    AS status_date
FROM expiry_results
WHERE jurisdiction = office
GROUP BY ALL
ORDER BY office, document_type, status, status_basis;
