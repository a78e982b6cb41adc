-- name: holders_match_evidence
-- description: Why holder names were joined or kept apart: every merge with its rule and score, and the near misses (TF-IDF candidates rejected, with the reason).
-- param: name text = null -- part of a holder name, any case; null = all
-- param: accepted_only bool = false -- only the merges that were made
SELECT rule, score, accepted, name_a, name_b, normalized_a, normalized_b, reason
FROM holder_match_evidence
WHERE ($name IS NULL OR name_a ILIKE '%' || $name || '%' OR name_b ILIKE '%' || $name || '%')
  AND (accepted OR NOT $accepted_only)
ORDER BY accepted DESC, rule, score DESC NULLS LAST, name_a, name_b;
