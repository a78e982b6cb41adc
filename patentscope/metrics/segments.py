"""Technology segments: CPC rules, then keywords, then a text classifier, per publication.

Rules live in ``data/segments.toml`` (editable, each with its source). For each publication:
1. ``cpc``: segments whose codes cover any of its CPC/IPC symbols;
2. ``keyword``: otherwise, segments whose keywords match its title or abstract;
3. ``classifier``: otherwise, a TF-IDF + logistic-regression text classifier trained on the
   CPC-decided publications (labels independent of the text it reads), used only for segments
   with enough training examples; :func:`evaluate_classifier` gives its cross-validated
   precision and recall;
4. ``unclassified``.
The output records which way each segment was decided and the evidence (symbol, keyword, or
classifier probability).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
import polars as pl
from pydantic import Field

from ..inputs import InputModel, NonEmptyStr, PositiveInt, Probability, read_toml, toml_text
from ..warehouse.connection import register, transaction
from ..warehouse.toolkit import replace_tables


@dataclass(frozen=True)
class ClassifierSettings:
    min_positives: int = 5          # CPC-decided examples (and as many negatives) a segment needs
    probability_threshold: float = 0.5
    min_precision: float = 0.8      # cross-validated precision a segment needs before it is predicted
    folds: int = 5
    refit: str = "when_changed"     # or "when_missing": analyze fits only when no model matches the rules


@dataclass(frozen=True)
class Segment:
    id: str
    label: str
    cpc: tuple[str, ...]
    keywords: tuple[str, ...]
    source: str

    def keyword_re(self) -> re.Pattern[str] | None:
        if not self.keywords:
            return None
        alts = "|".join(re.escape(k) for k in sorted(self.keywords, key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alts})", re.I)


class _SegmentRule(InputModel):
    id: NonEmptyStr
    label: NonEmptyStr
    cpc: list[NonEmptyStr] = []
    keywords: list[NonEmptyStr] = []
    source: NonEmptyStr


class _ClassifierTable(InputModel):
    min_positives: PositiveInt = 5
    probability_threshold: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.5
    min_precision: Probability = 0.8
    folds: Annotated[int, Field(strict=True, ge=2, le=50)] = 5
    refit: Literal["when_missing", "when_changed"] = "when_changed"


class _SegmentsFile(InputModel):
    segment: Annotated[list[_SegmentRule], Field(min_length=1)]
    classifier: _ClassifierTable = _ClassifierTable()


def _doc(path: str | Path | None) -> _SegmentsFile:
    """data/segments.toml (or ``path``) through the typed input reader: file:line: key errors."""
    if path:
        return read_toml(path, _SegmentsFile, what="segments file")
    text = resources.files("patentscope").joinpath("data/segments.toml").read_text(encoding="utf-8")
    return toml_text(text, _SegmentsFile, "patentscope/data/segments.toml")


def load_segments(path: str | Path | None = None) -> list[Segment]:
    return [Segment(s.id, s.label, tuple(s.cpc), tuple(s.keywords), s.source) for s in _doc(path).segment]


def load_classifier_settings(path: str | Path | None = None) -> ClassifierSettings:
    c = _doc(path).classifier
    return ClassifierSettings(c.min_positives, c.probability_threshold, c.min_precision, c.folds, c.refit)


SEGMENT_SCHEMA = {"pub_key": pl.Utf8, "segment": pl.Utf8, "decided_by": pl.Utf8, "evidence": pl.Utf8, "probability": pl.Float64}


def _cpc_hits(symbols: pl.DataFrame, segments: list[Segment]) -> pl.DataFrame:
    """(pub_key, segment, evidence): the first symbol (in input order) under any of a segment's
    codes, with :func:`~patentscope.normalize.classifications.matches_code`'s semantics as
    polars expressions (no per-row Python)."""
    sym = pl.col("symbol")
    parts = []
    syms = symbols.select("pub_key", "symbol").with_row_index("_pos")
    for seg in segments:
        if not seg.cpc:
            continue
        cond = pl.lit(False)
        for code in seg.cpc:
            if "/" not in code:
                cond = cond | (sym.str.starts_with(code) if len(code) == 4 else sym.str.starts_with(code + "/"))
            else:
                cond = cond | (sym == code) | (sym.str.starts_with(code) & sym.str.contains("/", literal=True))
        parts.append(syms.lazy().filter(cond).group_by("pub_key").agg(pl.col("symbol").sort_by("_pos").first().alias("evidence"))
                     .with_columns(pl.lit(seg.id).alias("segment")))
    if not parts:
        return pl.DataFrame(schema={"pub_key": pl.Utf8, "evidence": pl.Utf8, "segment": pl.Utf8})
    return pl.concat(parts).collect()


def _keyword_hits(pubs: pl.DataFrame, segments: list[Segment]) -> pl.DataFrame:
    """(pub_key, segment, evidence): the leftmost keyword match in ``title abstract``.

    The keyword must not follow a word character or hyphen (``(?<![\\w-])`` in
    :meth:`Segment.keyword_re`); polars' regex engine has no look-behind, so the pattern matches
    the preceding character (or the start) and the keyword is captured as group 1."""
    text = pl.concat_str([pl.col("title").fill_null(""), pl.col("abstract").fill_null("")], separator=" ")
    lf = pubs.lazy().select("pub_key", text.alias("_text"))
    parts = []
    for seg in segments:
        if not seg.keywords:
            continue
        alts = "|".join(re.escape(k) for k in sorted(seg.keywords, key=len, reverse=True))
        parts.append(lf.select("pub_key", pl.col("_text").str.extract(rf"(?i)(?:^|[^\w-])({alts})", 1).alias("evidence"))
                     .filter(pl.col("evidence").is_not_null()).with_columns(pl.lit(seg.id).alias("segment")))
    if not parts:
        return pl.DataFrame(schema={"pub_key": pl.Utf8, "evidence": pl.Utf8, "segment": pl.Utf8})
    return pl.concat(parts).collect()


def assign_by_rules(pubs: pl.DataFrame, symbols: pl.DataFrame, segments: list[Segment]) -> pl.DataFrame:
    """Rule-based segments.

    Input: ``pubs`` (pub_key, title, abstract), ``symbols`` (pub_key, symbol: canonical CPC/IPC).
    Output: one row per (pub_key, segment) with ``decided_by`` 'cpc' or 'keyword', ``evidence``
    (the first symbol or the keyword matched) and null ``probability``; publications no rule
    reaches are absent. Keywords are consulted only for publications no CPC rule reaches.
    Vectorised (polars expressions), so a million publications take seconds.
    """
    known = pubs.select("pub_key")
    cpc = _cpc_hits(symbols.join(known, on="pub_key", how="semi"), segments).with_columns(pl.lit("cpc").alias("decided_by"))
    rest = pubs.join(cpc.select("pub_key").unique(), on="pub_key", how="anti")
    kw = _keyword_hits(rest, segments).with_columns(pl.lit("keyword").alias("decided_by"))
    out = pl.concat([cpc, kw], how="diagonal_relaxed").with_columns(pl.lit(None, dtype=pl.Float64).alias("probability"))
    return out.select(list(SEGMENT_SCHEMA)).cast(SEGMENT_SCHEMA).sort("pub_key", "segment")  # type: ignore[arg-type]


def _training_frame(pubs: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """CPC-decided publications with text: pub_key, text (``title abstract``), segments (sorted)."""
    cpc = rules.filter(pl.col("decided_by") == "cpc").group_by("pub_key").agg(pl.col("segment").sort().alias("segments"))
    text = pl.concat_str([pl.col("title").fill_null(""), pl.col("abstract").fill_null("")], separator=" ").str.strip_chars()
    return (pubs.lazy().join(cpc.lazy(), on="pub_key", how="inner").select("pub_key", text.alias("text"), "segments")
            .filter(pl.col("text") != "").sort("pub_key").collect())


def _training_set(pubs: pl.DataFrame, rules: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    tf = _training_frame(pubs, rules)
    return tf["text"].to_list(), tf["segments"].to_list()


def _model() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True),
        OneVsRestClassifier(LogisticRegression(class_weight="balanced", solver="liblinear", random_state=0)),
    )


def trainable_segments(labels: list[list[str]], min_positives: int) -> list[str]:
    counts: dict[str, int] = {}
    for ls in labels:
        for s in ls:
            counts[s] = counts.get(s, 0) + 1
    return sorted(s for s, n in counts.items() if n >= min_positives and n <= len(labels) - min_positives)


EVAL_SCHEMA = {"segment": pl.Utf8, "positives": pl.Int64, "precision": pl.Float64, "recall": pl.Float64,
               "f1": pl.Float64, "note": pl.Utf8, "used": pl.Boolean}


def _indicator(labels: list[list[str]], segs: list[str]) -> Any:
    from sklearn.preprocessing import MultiLabelBinarizer

    return MultiLabelBinarizer(classes=segs).fit_transform([[s for s in ls if s in segs] for ls in labels])


def _evaluate(texts: list[str], labels: list[list[str]], cs: ClassifierSettings) -> pl.DataFrame:
    from sklearn.metrics import precision_recall_fscore_support
    from sklearn.model_selection import KFold, cross_val_predict

    folds = cs.folds
    segs = trainable_segments(labels, cs.min_positives)
    all_segs = sorted({s for ls in labels for s in ls})
    rows: list[dict[str, object]] = []
    if segs and len(texts) >= folds:
        y = _indicator(labels, segs)
        pred = cross_val_predict(_model(), texts, y, cv=KFold(folds, shuffle=True, random_state=0), method="predict_proba")
        yhat = (pred >= cs.probability_threshold).astype(int)
        p, r, f, support = precision_recall_fscore_support(y, yhat, average=None, zero_division=0)
        for i, s in enumerate(segs):
            rows.append({"segment": s, "positives": int(support[i]), "precision": float(p[i]), "recall": float(r[i]),
                         "f1": float(f[i]), "note": f"{folds}-fold CV over {len(texts)} CPC-decided publications",
                         "used": bool(p[i] >= cs.min_precision)})
    for s in all_segs:
        if s not in segs:
            n = sum(s in ls for ls in labels)
            rows.append({"segment": s, "positives": n, "precision": None, "recall": None, "f1": None,
                         "note": f"not trained: {n} example(s), needs >= {cs.min_positives} positives and negatives",
                         "used": False})
    return pl.DataFrame(rows, schema=EVAL_SCHEMA).sort("segment")


def evaluate_classifier(pubs: pl.DataFrame, rules: pl.DataFrame, settings: ClassifierSettings | None = None) -> pl.DataFrame:
    """Cross-validated precision/recall of the text classifier per segment, on CPC-decided
    publications (out-of-fold predictions, deterministic folds).

    Output: segment, ``positives`` (training examples), ``precision``, ``recall``, ``f1``,
    ``note``, ``used`` (precision reaches ``min_precision``, so :func:`assign` predicts it);
    segments with too few examples are listed with null scores.
    """
    texts, labels = _training_set(pubs, rules)
    return _evaluate(texts, labels, settings or ClassifierSettings())


@dataclass
class SegmentModel:
    """A fitted classifier as plain arrays (no pickle): TF-IDF vocabulary and idf, one
    logistic-regression row per predicted segment. ``predict`` reproduces scikit-learn's
    ``OneVsRestClassifier(LogisticRegression).predict_proba`` (the sigmoid of the decision)."""

    segments: tuple[str, ...]
    terms: list[str]
    idf: Any          # float64 (n_terms,)
    coef: Any         # float64 (n_segments, n_terms)
    intercept: Any    # float64 (n_segments,)
    scores: pl.DataFrame
    n_training: int
    training_version: str
    _vec: Any = None

    def vectorizer(self) -> Any:
        if self._vec is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True,
                                  vocabulary={t: i for i, t in enumerate(self.terms)})
            vec.idf_ = self.idf
            self._vec = vec
        return self._vec

    def proba(self, texts: list[str]) -> Any:
        import numpy as np

        x = self.vectorizer().transform(texts)
        z = np.asarray(x @ self.coef.T) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_bytes(self) -> bytes:
        import io

        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, terms=np.frombuffer("\n".join(self.terms).encode("utf-8"), dtype=np.uint8),
                            idf=self.idf, coef=self.coef, intercept=self.intercept,
                            segments=np.frombuffer("\n".join(self.segments).encode("utf-8"), dtype=np.uint8))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, scores: pl.DataFrame, n_training: int, training_version: str) -> SegmentModel:
        import io

        import numpy as np

        z = np.load(io.BytesIO(data), allow_pickle=False)
        terms = bytes(z["terms"]).decode("utf-8").split("\n") if z["terms"].size else []
        segs = tuple(bytes(z["segments"]).decode("utf-8").split("\n")) if z["segments"].size else ()
        return cls(segs, terms, z["idf"], z["coef"], z["intercept"], scores, n_training, training_version)


def training_version(train: pl.DataFrame) -> str:
    """sha256 of the training set (pub_key, sorted segments, text), streamed in batches."""
    import hashlib

    h = hashlib.sha256()
    for chunk in train.iter_slices(50_000):
        lines = chunk.select(pl.concat_str([pl.col("pub_key"), pl.col("segments").list.join(","), pl.col("text")],
                                           separator="\t"))
        h.update("\n".join(lines.to_series().to_list()).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def fit_classifier(pubs: pl.DataFrame, rules: pl.DataFrame, settings: ClassifierSettings | None = None) -> SegmentModel:
    """Cross-validate (the precision gate), then fit the classifier once on every CPC-decided
    publication, for the segments that pass the gate."""
    import numpy as np

    cs = settings or ClassifierSettings()
    train = _training_frame(pubs, rules)
    texts, labels = train["text"].to_list(), train["segments"].to_list()
    ev = _evaluate(texts, labels, cs)
    used = sorted(ev.filter(pl.col("used"))["segment"].to_list())
    version = training_version(train)
    if not used:
        return SegmentModel((), [], np.zeros(0), np.zeros((0, 0)), np.zeros(0), ev, train.height, version)
    pipe = _model().fit(texts, _indicator(labels, used))
    vec, ovr = pipe.steps[0][1], pipe.steps[1][1]
    terms = [""] * len(vec.vocabulary_)
    for t, i in vec.vocabulary_.items():
        terms[i] = t
    coef = np.vstack([e.coef_[0] for e in ovr.estimators_]).astype(np.float64)
    intercept = np.array([e.intercept_[0] for e in ovr.estimators_], dtype=np.float64)
    return SegmentModel(tuple(used), terms, np.asarray(vec.idf_, dtype=np.float64), coef, intercept, ev, train.height, version)


def predict(model: SegmentModel, pubs: pl.DataFrame, threshold: float, batch: int = 50_000) -> pl.DataFrame:
    """Classifier rows (SEGMENT_SCHEMA) for ``pubs`` with text, streamed in batches of ``batch``."""
    import numpy as np

    text = pl.concat_str([pl.col("title").fill_null(""), pl.col("abstract").fill_null("")], separator=" ").str.strip_chars()
    todo = pubs.select("pub_key", text.alias("text")).filter(pl.col("text") != "")
    out = []
    if model.segments and todo.height:
        segs = np.array(model.segments, dtype=object)
        for chunk in todo.iter_slices(batch):
            p = model.proba(chunk["text"].to_list())
            r, c = np.nonzero(p >= threshold)
            out.append(pl.DataFrame({"pub_key": chunk["pub_key"].gather(r), "segment": segs[c].tolist(),
                                     "probability": p[r, c]},
                                    schema={"pub_key": pl.Utf8, "segment": pl.Utf8, "probability": pl.Float64}))
    frame = pl.concat(out) if out else pl.DataFrame(schema={"pub_key": pl.Utf8, "segment": pl.Utf8, "probability": pl.Float64})
    return frame.select("pub_key", "segment", pl.lit("classifier").alias("decided_by"),
                        pl.lit("tf-idf logistic regression").alias("evidence"), "probability")


def _with_unclassified(pubs: pl.DataFrame, out: pl.DataFrame) -> pl.DataFrame:
    missing = pubs.select("pub_key").join(out.select("pub_key").unique(), on="pub_key", how="anti")
    unclassified = missing.with_columns(
        pl.lit("unclassified").alias("segment"), pl.lit("unclassified").alias("decided_by"),
        pl.lit(None, dtype=pl.Utf8).alias("evidence"), pl.lit(None, dtype=pl.Float64).alias("probability"))
    return pl.concat([out, unclassified]).sort("pub_key", "segment")


def _assign_with(pubs: pl.DataFrame, rules: pl.DataFrame, model: SegmentModel | None, cs: ClassifierSettings) -> pl.DataFrame:
    rest = pubs.join(rules.select("pub_key").unique(), on="pub_key", how="anti")
    parts = [rules]
    if model is not None and rest.height:
        parts.append(predict(model, rest, cs.probability_threshold))
    return _with_unclassified(pubs, pl.concat(parts))


def assign(pubs: pl.DataFrame, symbols: pl.DataFrame, segments: list[Segment] | None = None,
           settings: ClassifierSettings | None = None, model: SegmentModel | None = None) -> pl.DataFrame:
    """Segments of every publication: rules first, then the classifier, else 'unclassified'.

    Input as :func:`assign_by_rules`; ``model`` a fitted classifier (default: fit one here, with
    cross-validation, as :func:`fit_classifier`). Output columns: pub_key, segment, decided_by
    ('cpc' | 'keyword' | 'classifier' | 'unclassified'), evidence, probability (classifier only).
    Every publication appears at least once.
    """
    segments = segments or load_segments()
    cs = settings or load_classifier_settings()
    rules = assign_by_rules(pubs, symbols, segments)
    if model is None and pubs.join(rules.select("pub_key").unique(), on="pub_key", how="anti").height:
        model = fit_classifier(pubs, rules, cs)
    return _assign_with(pubs, rules, model, cs)


# --- the model cache in the warehouse (migration 0018) ----------------------------------------


def rules_version(segments: list[Segment], cs: ClassifierSettings) -> str:
    """sha256 of what defines the labels and the model: segment rules, classifier settings
    (``refit`` left out: it says when to fit, not what), the model specification and
    scikit-learn's version."""
    import hashlib
    import json

    import sklearn

    settings = {k: v for k, v in vars(cs).items() if k != "refit"}
    spec = {"segments": [[s.id, list(s.cpc), list(s.keywords)] for s in segments], "settings": settings,
            "model": repr(_model()), "sklearn": sklearn.__version__}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _inputs(con: duckdb.DuckDBPyConnection, landscape_only: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    where = "WHERE in_landscape" if landscape_only else ""
    pubs = con.sql(f"SELECT pub_key, title, abstract FROM publications {where} ORDER BY pub_key").pl()
    syms = con.sql("SELECT pub_key, symbol FROM classifications ORDER BY pub_key, scheme, position").pl()
    return pubs, syms


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def cached_model(con: duckdb.DuckDBPyConnection, scope: str, version: str) -> tuple[SegmentModel, dt.datetime] | None:
    """The stored model for (scope, rules version), with when it was trained, or None."""
    if not _has_table(con, "segment_models"):
        return None
    row = con.execute("SELECT model_id, model, n_training, training_version, trained_at FROM segment_models "
                      "WHERE scope = ? AND rules_version = ? ORDER BY model_id DESC LIMIT 1", [scope, version]).fetchall()
    if not row:
        return None
    model_id, blob, n, tv, at = row[0]
    scores = con.sql(f"SELECT segment, positives, precision, recall, f1, note, used FROM segment_model_scores "
                     f"WHERE model_id = {int(model_id)} ORDER BY segment").pl().cast(EVAL_SCHEMA)
    return SegmentModel.from_bytes(bytes(blob), scores, int(n), str(tv)), at


def store_model(con: duckdb.DuckDBPyConnection, model: SegmentModel, scope: str, version: str,
                trained_at: dt.datetime) -> int:
    """Replace the cached model of (scope, rules version); call inside a transaction."""
    import sklearn

    model_id = int(con.execute("SELECT coalesce(max(model_id), 0) + 1 FROM segment_models").fetchall()[0][0])
    old = [r[0] for r in con.execute("SELECT model_id FROM segment_models WHERE scope = ? AND rules_version = ?",
                                     [scope, version]).fetchall()]
    for mid in old:
        con.execute("DELETE FROM segment_model_scores WHERE model_id = ?", [mid]).fetchall()
        con.execute("DELETE FROM segment_models WHERE model_id = ?", [mid]).fetchall()
    con.execute("INSERT INTO segment_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [model_id, scope, version, model.training_version, model.n_training, list(model.segments), trained_at,
                 f"scikit-learn {sklearn.__version__}", model.to_bytes()]).fetchall()
    register(con, "_seg_scores", model.scores)
    try:
        con.execute(f"INSERT INTO segment_model_scores SELECT {model_id}, segment, positives, precision, recall, f1, used, note "
                    "FROM _seg_scores").fetchall()
    finally:
        con.unregister("_seg_scores")
    return model_id


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def train(con: duckdb.DuckDBPyConnection, landscape_only: bool = True) -> dict[str, Any]:
    """Refit the classifier (cross-validation, then one fit) and cache it in the warehouse."""
    pubs, syms = _inputs(con, landscape_only)
    segs, cs = load_segments(), load_classifier_settings()
    rules = assign_by_rules(pubs, syms, segs)
    model = fit_classifier(pubs, rules, cs)
    scope = "landscape" if landscape_only else "all"
    with transaction(con):
        model_id = store_model(con, model, scope, rules_version(segs, cs), _now())
    return {"model_id": model_id, "scope": scope, "training": model.n_training, "segments": list(model.segments),
            "training_version": model.training_version[:12]}


def refresh(con: duckdb.DuckDBPyConnection, landscape_only: bool = True) -> dict[str, Any]:
    """Recompute publication_segments and segment_classifier_eval in one transaction.

    The classifier is not refitted here when the warehouse holds one for this scope and rule
    version (``segments train`` refits; so does this step when ``refit = "when_changed"`` in
    data/segments.toml and the training set changed); it only predicts. Without a cached model
    it fits one (with cross-validation) and caches it.
    """
    pubs, syms = _inputs(con, landscape_only)
    segs, cs = load_segments(), load_classifier_settings()
    scope = "landscape" if landscape_only else "all"
    version = rules_version(segs, cs)
    rules = assign_by_rules(pubs, syms, segs)
    hit = cached_model(con, scope, version)
    stale = False
    fitted = hit is None
    if hit is not None and cs.refit == "when_changed":
        if training_version(_training_frame(pubs, rules)) != hit[0].training_version:
            fitted = True
    if fitted:
        model, trained_at = fit_classifier(pubs, rules, cs), _now()
    else:
        assert hit is not None
        model, trained_at = hit
        n_now = _training_frame(pubs, rules).height
        stale = n_now != model.n_training
    out = _assign_with(pubs, rules, model, cs)
    ev = model.scores.with_columns(
        (pl.col("note") + (pl.lit(f"; model trained {trained_at:%Y-%m-%d %H:%M} UTC on {model.n_training} publications"
                                  + (", training set has changed since (`patentscope segments train` refits)" if stale else ""))))
        .alias("note"),
        pl.lit(trained_at).alias("computed_at"))
    with transaction(con):
        if fitted and _has_table(con, "segment_models"):
            store_model(con, model, scope, version, trained_at)
        replace_tables(con, {
            "publication_segments": out.select("pub_key", "segment", "decided_by", "evidence", "probability"),
            "segment_classifier_eval": ev.select("segment", "positives", "precision", "recall", "f1", "used", "note",
                                                 "computed_at"),
        }, what="storing the segments")
    return {"publications": pubs.height, "segment_rows": out.height,
            "by_classifier": out.filter(pl.col("decided_by") == "classifier").height,
            "model": "fitted" if fitted else ("cached, stale" if stale else "cached")}
