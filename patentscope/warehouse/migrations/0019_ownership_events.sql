-- 0019_ownership_events: USPTO assignment records as dated ownership events (issue 15 item 3;
-- patentscope/normalize/assignments.py, docs/holders.md "Recorded assignments").

-- One row per recorded assignment and property: from `ingest assignments FILE...` (source
-- 'assignments', the USPTO Patent Assignment Search XML) and from the assignmentBag of ODP
-- records (source 'odp'). conveyance_class: transfer | lineage | security | release | license |
-- correction | other; moves_ownership is true for transfer and lineage only. effective_date is
-- the latest assignor execution date (date_basis 'executed'), else the recorded date
-- ('recorded (no execution date)'). Keyed on the reel/frame the USPTO gives the recording and
-- the application it covers, so loading the same file twice changes nothing.
CREATE TABLE ownership_events (
    source               VARCHAR NOT NULL,
    application_number   VARCHAR NOT NULL,         -- '' when the record names only a patent
    reel_frame           VARCHAR NOT NULL,         -- '065229/0338'
    pub_key              VARCHAR,                  -- US-<patent>, else US-<pre-grant publication>
    patent_number        VARCHAR,
    publication_number   VARCHAR,
    conveyance           VARCHAR,                  -- the USPTO conveyance text as given
    conveyance_class     VARCHAR NOT NULL CHECK (conveyance_class IN
                             ('transfer', 'lineage', 'security', 'release', 'license', 'correction', 'other')),
    moves_ownership      BOOLEAN NOT NULL,
    assignors            VARCHAR[],
    assignees            VARCHAR[],
    assignee_countries   VARCHAR[],                -- per assignee: ISO code, the country as given, or NULL
    execution_date       DATE,                     -- latest assignor execution date
    first_execution_date DATE,
    recorded_date        DATE,
    effective_date       DATE,
    date_basis           VARCHAR NOT NULL,         -- 'executed' | 'recorded (no execution date)' | 'undated'
    note                 VARCHAR,                  -- the classification rule and its citation
    source_record        VARCHAR NOT NULL,         -- file:line of the <doc>, or application:assignmentBag[i]
    PRIMARY KEY (source, application_number, reel_frame)
);

-- The holder chain says where each link comes from, and keeps a link that conflicts with the
-- recorded assignments (a current assignee the recorded chain does not reach) with counted =
-- false and its flag, instead of dropping it.
ALTER TABLE holder_chain ADD COLUMN source VARCHAR;
ALTER TABLE holder_chain ADD COLUMN flag VARCHAR;
ALTER TABLE holder_chain ADD COLUMN counted BOOLEAN DEFAULT true;

-- publication_holder_groups (0015) reads the counted links only, and the links of role
-- 'recorded_assignee' (an assignee of a recorded transfer that no other party row names).
CREATE OR REPLACE VIEW publication_holder_groups AS
WITH chosen AS (
    SELECT c.pub_key, c.name_as_written, c.role, c.valid_from AS link_from, c.valid_to AS link_to, c.date_basis,
           bool_or(pa.source <> 'sample' OR regexp_matches(coalesce(pa.source_field, ''), '[(\[]7[1-3][)\]]')) AS official
    FROM holder_chain c
    JOIN parties pa ON pa.pub_key = c.pub_key AND pa.name_as_written = c.name_as_written AND pa.role = c.role
    WHERE c.counted
    GROUP BY ALL
    UNION ALL
    -- an assignee of a recorded USPTO assignment (ownership_events): an official record
    SELECT c.pub_key, c.name_as_written, c.role, c.valid_from, c.valid_to, c.date_basis, true
    FROM holder_chain c
    WHERE c.counted AND c.role = 'recorded_assignee'
), labels AS (
    SELECT group_id, arg_max(group_name, coalesce(valid_from, DATE '1900-01-01')) AS group_label,
           arg_max(group_country, coalesce(valid_from, DATE '1900-01-01')) AS label_country
    FROM holder_groups GROUP BY group_id
), parts AS (
    SELECT c.pub_key, c.role AS holder_role, c.official, c.date_basis, h.name_as_written, h.part_as_written,
           h.entity_id, h.holder, h.group_id, h.holder_group AS group_name, h.group_country,
           greatest(c.link_from, h.valid_from) AS valid_from, least(c.link_to, h.valid_to) AS valid_to,
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
    WHERE valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to
)
SELECT p.pub_key, p.holder_role, p.name_as_written, p.part_as_written, p.entity_id, p.holder,
       p.group_id, p.group_name, l.group_label, coalesce(p.group_country, l.label_country) AS group_country,
       p.valid_from, p.valid_to, p.kind, p.lineage_confirmed,
       CASE WHEN p.kind = 'person' THEN 'individual' ELSE 'organisation' END AS holder_kind,
       p.date_basis AS ownership_date_basis
FROM flagged p
LEFT JOIN labels l USING (group_id)
WHERE NOT (p.is_inventor AND (p.has_organisation OR NOT p.official));
