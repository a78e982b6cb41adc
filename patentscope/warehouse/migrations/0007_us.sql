-- 0007_us: per-application facts from the USPTO Patent File Wrapper API (ODP), kept by
-- application number so that nothing is lost when no patent or publication number is known
-- yet (the publication-keyed rows - publications, term_inputs, legal_events - are written too
-- whenever a pub_key is known). Written by patentscope/ingest/us_odp.py; documented in
-- docs/ingest-us.md. Each ODP save replaces an application's rows of its source.

CREATE TABLE us_applications (
    application_number        VARCHAR NOT NULL,  -- as ODP prints it: '17248024', 'PCTUS0719317'
    source                    VARCHAR NOT NULL,  -- 'odp'
    pub_key                   VARCHAR,           -- 'US-11646472' (patent), else the pre-grant or WO publication; NULL when unknown
    patent_number             VARCHAR,
    application_type          VARCHAR,           -- 'utility', 'design', 'plant', 'reissue', or ODP's code when unmapped
    filing_date               DATE,
    grant_date                DATE,
    status_code               INTEGER,           -- applicationStatusCode (250 = expired for non-payment of maintenance fees)
    status_text               VARCHAR,
    status_date               DATE,
    earliest_us_filing_date   DATE,              -- own filing date or the earliest CON/CIP/DIV/NST ancestor (35 USC 120/121/365(c))
    earliest_via              VARCHAR,           -- the application that date belongs to
    international_filing_date DATE,              -- the PCT filing date where the chain reaches a national-stage (NST) parent
    continuity_links          INTEGER,           -- parent links listed (all types)
    continuity_note           VARCHAR,
    pta_days                  INTEGER,           -- adjustmentTotalQuantity (the authority)
    pta_a_days                INTEGER,
    pta_b_days                INTEGER,
    pta_c_days                INTEGER,
    pta_overlap_days          INTEGER,
    pta_applicant_days        INTEGER,
    pta_note                  VARCHAR,           -- the A+B+C-overlap-applicant consistency check
    terminal_disclaimer       BOOLEAN,           -- TRUE when a DIST/DISQ transaction was seen; NULL = none seen
    last_ingestion            VARCHAR,           -- ODP lastIngestionDateTime of the record
    parts                     VARCHAR[],         -- which sections the payloads carried (metadata, continuity, pta, events, assignments)
    updated_run_id            BIGINT,
    PRIMARY KEY (application_number, source)
);

-- Every transaction of the application history (eventDataBag), newest first as served.
CREATE TABLE us_application_events (
    application_number VARCHAR NOT NULL,
    source             VARCHAR NOT NULL,
    seq                INTEGER NOT NULL,         -- position in the served list, from 1
    event_date         DATE,
    event_code         VARCHAR NOT NULL,
    description        VARCHAR,
    effect             VARCHAR NOT NULL,         -- the legal_events.effect vocabulary ('other' for prosecution steps)
    PRIMARY KEY (application_number, source, seq)
);

-- Continuity links as served (parentContinuityBag / childContinuityBag), all claim types.
CREATE TABLE us_continuity (
    application_number        VARCHAR NOT NULL,  -- the record the link was served with
    source                    VARCHAR NOT NULL,
    direction                 VARCHAR NOT NULL CHECK (direction IN ('parent', 'child')),
    child_application_number  VARCHAR NOT NULL,
    parent_application_number VARCHAR NOT NULL,
    relation_code             VARCHAR NOT NULL,  -- CON, CIP, DIV, NST, PRO, ...
    relation_text             VARCHAR,
    other_filing_date         DATE,              -- filing date of the other application (parent for parent links)
    other_patent_number       VARCHAR,
    other_status_code         INTEGER,
    counts_for_term           BOOLEAN NOT NULL,  -- CON/CIP/DIV/NST count for the 20-year term; PRO and unknown codes do not
    PRIMARY KEY (application_number, source, direction, child_application_number, parent_application_number, relation_code)
);
