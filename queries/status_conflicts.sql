-- name: status_conflicts
-- description: Publications whose own record (status_as_shown / expiry_as_shown) contradicts the computed status or expiry (expiry engine, docs/expiry.md "Status evidence")
SELECT e.pub_key, e.pub_number, e.jurisdiction, e.status, e.status_basis, e.expiry_earliest, e.expiry_latest,
       e.expiry_date, e.status_as_shown, e.status_evidence, e.status_conflict
FROM expiry e
WHERE e.status_conflict IS NOT NULL
ORDER BY e.pub_key, e.jurisdiction;
