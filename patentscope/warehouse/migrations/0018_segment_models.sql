-- 0018_segment_models: the segment text classifier, fitted once and cached (issue 18 item 1;
-- docs/schema.md). `analyze` predicts with the model stored for its scope and rule version and
-- fits only when there is none (or, with classifier.refit = "when_changed" in
-- data/segments.toml, when the training set changed); `patentscope segments train` refits.
-- The model is stored as plain arrays (numpy .npz, read with allow_pickle=False): nothing in
-- the warehouse is executed when it is loaded.

CREATE TABLE segment_models (
    model_id          INTEGER PRIMARY KEY,
    scope             VARCHAR NOT NULL,    -- 'landscape' (publications in the landscape) or 'all'
    rules_version     VARCHAR NOT NULL,    -- sha256 of the segment rules, classifier settings, model spec, scikit-learn version
    training_version  VARCHAR NOT NULL,    -- sha256 of the training set (pub_key, CPC-decided segments, text)
    n_training        BIGINT NOT NULL,     -- CPC-decided publications with text it was fitted on
    segments          VARCHAR[] NOT NULL,  -- segments it predicts (those whose cross-validated precision passed the gate)
    trained_at        TIMESTAMP NOT NULL,  -- UTC
    library           VARCHAR NOT NULL,    -- e.g. 'scikit-learn 1.5.2'
    model             BLOB NOT NULL        -- .npz: vocabulary, idf, coefficients, intercepts
);

CREATE TABLE segment_model_scores (
    model_id    INTEGER NOT NULL,
    segment     VARCHAR NOT NULL,
    positives   BIGINT,
    precision   DOUBLE,                    -- cross-validated at fit time
    recall      DOUBLE,
    f1          DOUBLE,
    used        BOOLEAN,                   -- precision reaches classifier.min_precision
    note        VARCHAR,
    PRIMARY KEY (model_id, segment)
);
