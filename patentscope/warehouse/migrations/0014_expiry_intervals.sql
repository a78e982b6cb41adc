-- 0014_expiry_intervals: the expiry engine's interval, warnings, fee assumption and status evidence
-- (docs/expiry.md). Adds columns to expiry_results and replaces the view `expiry` (owned by the
-- expiry engine, issue 14) with the same columns as before plus the new ones.

ALTER TABLE expiry_results ADD COLUMN expiry_earliest DATE;          -- lowest legally possible end (NULL = unknown: only the latest is known)
ALTER TABLE expiry_results ADD COLUMN expiry_latest DATE;            -- highest legally possible end
ALTER TABLE expiry_results ADD COLUMN headline_rule VARCHAR;         -- how expiry_date was chosen inside the interval: exact, event, latest_admissible_e, upper_bound
ALTER TABLE expiry_results ADD COLUMN rests_on_fee_assumption BOOLEAN;  -- in force only because unrecorded US maintenance fees are assumed paid
ALTER TABLE expiry_results ADD COLUMN warnings VARCHAR[];            -- odd input that does not stop the computation (e.g. a priority date after the filing date)
ALTER TABLE expiry_results ADD COLUMN status_as_shown VARCHAR;       -- the record's own status evidence, normalised (docs/expiry.md "Status evidence")
ALTER TABLE expiry_results ADD COLUMN status_evidence VARCHAR;       -- what was shown, by which source, and what it means
ALTER TABLE expiry_results ADD COLUMN status_conflict VARCHAR;       -- NULL, or how the computed status contradicts the evidence

CREATE OR REPLACE VIEW expiry AS
SELECT e.pub_key,
       e.pub_number,
       e.jurisdiction,
       e.office,
       e.family_id,
       e.document_type,
       e.expiry_date,
       e.expiry_is_upper_bound,
       e.term_expiry,
       e.end_reason,
       e.status,
       e.status_date,
       e.status_basis,
       e.status_reason,
       e.rule,
       e.rule_source,
       e.in_force_from,
       len(e.flags) AS n_flags,
       array_to_string(e.calculation_log, chr(10)) AS calculation_log,
       e.expiry_earliest,
       e.expiry_latest,
       e.headline_rule,
       CASE WHEN e.status = 'in force' AND e.rests_on_fee_assumption THEN 'in force (fees not verified)' ELSE e.status END
           AS status_label,
       coalesce(e.rests_on_fee_assumption, false) AS rests_on_fee_assumption,
       e.status_as_shown,
       e.status_evidence,
       e.status_conflict,
       e.status_conflict IS NOT NULL AS has_status_conflict
FROM expiry_results e;
