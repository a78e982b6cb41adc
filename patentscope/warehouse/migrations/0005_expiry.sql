-- 0005_expiry: derived tables of the expiry engine (patentscope/metrics/expiry.py) and the view
-- `expiry` for SQL users. Written only by patentscope.metrics.expiry.refresh (run by
-- `patentscope analyze`), which replaces all rows in one transaction. Documented in docs/expiry.md.

-- One row per publication and jurisdiction: the office, plus national rows of EP bundles.
CREATE TABLE expiry_results (
    pub_key               VARCHAR NOT NULL,
    pub_number            VARCHAR,
    jurisdiction          VARCHAR NOT NULL,   -- the office ('US', 'EP', ...) or a national part of an EP bundle ('DE')
    office                VARCHAR NOT NULL,
    family_id             VARCHAR NOT NULL,
    document_type         VARCHAR,            -- application, invention, utility_model, design, plant, reissue, international_application; NULL = unknown
    rule                  VARCHAR,            -- rule id in term_rules.toml, with its branch ('us_utility:transition_greater_of_17_and_20')
    rule_source           VARCHAR,            -- the rule's source as the rules file gives it
    base_date             DATE,               -- the date the term counts from
    base_basis            VARCHAR,            -- which date that is and why
    in_force_from         DATE,               -- grant date (or a date by which it was granted, see in_force_from_basis)
    in_force_from_basis   VARCHAR,
    term_expiry           DATE,               -- term end by the rule, adjustments, disclaimer and 'expiry' events; for applications the term a patent on it would get
    expiry_date           DATE,               -- expected end of the patent: term end or an earlier legal-event end; NULL = unknown or not a patent
    expiry_is_upper_bound BOOLEAN,            -- the patent ends on term_expiry at the latest, maybe earlier (see the log)
    end_reason            VARCHAR,            -- 'term', 'expiry_event', 'lapse', 'revocation', 'withdrawal'
    lapse_periods         STRUCT("start" DATE, "end" DATE)[],  -- lapses later undone by reinstatement
    status                VARCHAR NOT NULL CHECK (status IN ('not yet filed', 'pending', 'in force', 'expired by term', 'lapsed', 'unknown')),
    status_date           DATE NOT NULL,      -- the date the status is for
    status_basis          VARCHAR NOT NULL,   -- which case decided it: in_force, ended, before_grant, application, bad_input, missing_input, term_range, ... (docs/expiry.md)
    status_reason         VARCHAR,
    flags                 VARCHAR[],          -- bad input found (any flag makes the status 'unknown')
    missing               VARCHAR[],          -- inputs the rule needs and the warehouse lacks
    calculation_log       VARCHAR[],          -- the rule, the inputs, overrides and the status, line by line
    rules_version         VARCHAR NOT NULL,
    rules_sha256          VARCHAR NOT NULL,
    computed_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (pub_key, jurisdiction)
);

-- Families in force per holder group, jurisdiction and year (on the rules' reference day).
CREATE TABLE in_force_stock (
    holder_group          VARCHAR NOT NULL,   -- '(no holder shown)' when the publication has none
    holder_basis          VARCHAR NOT NULL,   -- 'as_written' (publication_overview.holder_as_written) or the holder grouping used
    jurisdiction          VARCHAR NOT NULL,   -- 'ALL' = in force in at least one jurisdiction
    year                  INTEGER NOT NULL,
    reference_date        DATE NOT NULL,
    families_in_force     BIGINT NOT NULL,    -- distinct family_id
    publications_in_force BIGINT NOT NULL,
    projected             BOOLEAN NOT NULL,   -- reference date after the run date: assumes no new lapses or grants
    PRIMARY KEY (holder_group, jurisdiction, year)
);

-- Each holder group's cliff: the date by which half of its families in force at status_date expire.
CREATE TABLE holder_cliffs (
    holder_group          VARCHAR NOT NULL,
    holder_basis          VARCHAR NOT NULL,
    status_date           DATE NOT NULL,
    families_in_force     BIGINT NOT NULL,
    cliff_date            DATE,
    cliff_year            INTEGER,
    last_expiry           DATE,
    PRIMARY KEY (holder_group)
);

-- Stable interface: publication, jurisdiction, expected expiry, status and the rule applied.
CREATE VIEW expiry AS
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
       array_to_string(e.calculation_log, chr(10)) AS calculation_log
FROM expiry_results e;
