-- name: licensing_facts
-- description: Dated licensing and litigation statements with their sources (e.g. the Hitachi Metals portfolio, ITC 337 cases, Showa Denko's licensing offer); filter by a word.
-- param: term text = null -- case-insensitive word to look for in subject or statement; null = all
SELECT fact_id, subject, statement, date_of_statement, source_type, source_url
FROM licensing_facts
WHERE $term IS NULL OR subject ILIKE '%' || $term || '%' OR statement ILIKE '%' || $term || '%'
ORDER BY fact_id;
