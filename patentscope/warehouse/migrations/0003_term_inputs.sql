-- 0003_term_inputs: per-publication inputs of patent-term rules that ingestors find and the
-- expiry engine reads (documented in docs/schema.md). One row per (pub_key, source).

CREATE TABLE term_inputs (
    pub_key                    VARCHAR NOT NULL,
    source                     VARCHAR NOT NULL,
    application_type           VARCHAR,   -- 'utility', 'design', 'plant', 'utility_model', 'reissue'
    earliest_us_filing_date    DATE,      -- earliest non-provisional US or PCT filing claimed under 35 USC 120/121/365(c)
    international_filing_date  DATE,      -- PCT international filing date (national phase entries)
    pta_days                   INTEGER,   -- patent term adjustment printed on the patent / ODP adjustmentTotalQuantity
    pte_days                   INTEGER,   -- patent term extension (35 USC 156)
    terminal_disclaimer        BOOLEAN,   -- a terminal disclaimer was filed
    disclaimer_expiry_date     DATE,      -- expiry date fixed by a terminal disclaimer, where known
    note                       VARCHAR,   -- how the values were derived (e.g. 'continuity: 12 links, earliest 10824944')
    PRIMARY KEY (pub_key, source)
);
