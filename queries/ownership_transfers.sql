-- name: ownership_transfers
-- description: Recorded USPTO assignments (ownership_events) of the warehouse's publications, matched by pub_key or US application number, in date order, with the conveyance class, whether it moves ownership (transfers and mergers / changes of name do; security interests, releases and licences do not), the date basis and the source record.
-- param: pub text = null -- a pub_key such as US-9111608; null = every publication with a recorded assignment
-- param: moving bool = false -- true: only the events that move ownership
WITH matched AS (
    SELECT p.pub_key AS key, e.* FROM ownership_events e JOIN publications p ON p.pub_key = e.pub_key
    UNION
    SELECT p.pub_key, e.* FROM ownership_events e
    JOIN publications p ON p.application_number = e.application_number AND p.country = 'US'
)
SELECT key AS pub_key, effective_date, date_basis, reel_frame, conveyance_class, moves_ownership,
       array_to_string(assignors, '; ') AS assignors, array_to_string(assignees, '; ') AS assignees,
       recorded_date, conveyance, source, source_record
FROM matched
WHERE ($pub IS NULL OR key = $pub) AND (NOT $moving OR moves_ownership)
ORDER BY key, effective_date NULLS LAST, reel_frame, source;
