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

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ..normalize.classifications import matches_code
from ..warehouse.connection import transaction


@dataclass(frozen=True)
class ClassifierSettings:
    min_positives: int = 5          # CPC-decided examples (and as many negatives) a segment needs
    probability_threshold: float = 0.5
    min_precision: float = 0.8      # cross-validated precision a segment needs before it is predicted
    folds: int = 5


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


def _doc(path: str | Path | None) -> dict[str, Any]:
    text = (Path(path).read_text(encoding="utf-8") if path
            else resources.files("patentscope").joinpath("data/segments.toml").read_text(encoding="utf-8"))
    return tomllib.loads(text)


def load_segments(path: str | Path | None = None) -> list[Segment]:
    return [Segment(s["id"], s["label"], tuple(s.get("cpc", [])), tuple(s.get("keywords", [])), s.get("source", ""))
            for s in _doc(path)["segment"]]


def load_classifier_settings(path: str | Path | None = None) -> ClassifierSettings:
    c = _doc(path).get("classifier", {})
    return ClassifierSettings(int(c.get("min_positives", 5)), float(c.get("probability_threshold", 0.5)),
                              float(c.get("min_precision", 0.8)), int(c.get("folds", 5)))


SEGMENT_SCHEMA = {"pub_key": pl.Utf8, "segment": pl.Utf8, "decided_by": pl.Utf8, "evidence": pl.Utf8, "probability": pl.Float64}


def assign_by_rules(pubs: pl.DataFrame, symbols: pl.DataFrame, segments: list[Segment]) -> pl.DataFrame:
    """Rule-based segments.

    Input: ``pubs`` (pub_key, title, abstract), ``symbols`` (pub_key, symbol: canonical CPC/IPC).
    Output: one row per (pub_key, segment) with ``decided_by`` 'cpc' or 'keyword', ``evidence``
    (the symbol or keyword matched) and null ``probability``; publications no rule reaches are
    absent.
    """
    by_pub: dict[str, list[str]] = {}
    for pk, sym in symbols.select("pub_key", "symbol").iter_rows():
        by_pub.setdefault(pk, []).append(sym)
    compiled = [(s, s.keyword_re()) for s in segments]
    rows: list[dict[str, object]] = []
    for pk, title, abstract in pubs.select("pub_key", "title", "abstract").iter_rows():
        syms = by_pub.get(pk, [])
        hits = []
        for seg, _ in compiled:
            sym = next((x for x in syms for c in seg.cpc if matches_code(x, c)), None)
            if sym:
                hits.append({"pub_key": pk, "segment": seg.id, "decided_by": "cpc", "evidence": sym, "probability": None})
        if not hits:
            text = f"{title or ''} {abstract or ''}"
            for seg, rx in compiled:
                if rx and (m := rx.search(text)):
                    hits.append({"pub_key": pk, "segment": seg.id, "decided_by": "keyword", "evidence": m.group(0), "probability": None})
        rows.extend(hits)
    return pl.DataFrame(rows, schema=SEGMENT_SCHEMA)


def _training_set(pubs: pl.DataFrame, rules: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    cpc = rules.filter(pl.col("decided_by") == "cpc").group_by("pub_key").agg(pl.col("segment"))
    joined = pubs.join(cpc, on="pub_key", how="inner").sort("pub_key")
    texts = [f"{t or ''} {a or ''}".strip() for t, a in joined.select("title", "abstract").iter_rows()]
    keep = [i for i, t in enumerate(texts) if t]
    return [texts[i] for i in keep], [sorted(joined["segment"][i].to_list()) for i in keep]


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


def evaluate_classifier(pubs: pl.DataFrame, rules: pl.DataFrame, settings: ClassifierSettings | None = None) -> pl.DataFrame:
    """Cross-validated precision/recall of the text classifier per segment, on CPC-decided
    publications (out-of-fold predictions, deterministic folds).

    Output: segment, ``positives`` (training examples), ``precision``, ``recall``, ``f1``,
    ``note``, ``used`` (precision reaches ``min_precision``, so :func:`assign` predicts it);
    segments with too few examples are listed with null scores.
    """
    from sklearn.metrics import precision_recall_fscore_support
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.preprocessing import MultiLabelBinarizer

    cs = settings or ClassifierSettings()
    folds = cs.folds
    texts, labels = _training_set(pubs, rules)
    segs = trainable_segments(labels, cs.min_positives)
    all_segs = sorted({s for ls in labels for s in ls})
    rows: list[dict[str, object]] = []
    if segs and len(texts) >= folds:
        mlb = MultiLabelBinarizer(classes=segs)
        y = mlb.fit_transform([[s for s in ls if s in segs] for ls in labels])
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
    schema = {"segment": pl.Utf8, "positives": pl.Int64, "precision": pl.Float64, "recall": pl.Float64,
              "f1": pl.Float64, "note": pl.Utf8, "used": pl.Boolean}
    return pl.DataFrame(rows, schema=schema).sort("segment")


def assign(pubs: pl.DataFrame, symbols: pl.DataFrame, segments: list[Segment] | None = None,
           settings: ClassifierSettings | None = None) -> pl.DataFrame:
    """Segments of every publication: rules first, then the classifier, else 'unclassified'.

    Input as :func:`assign_by_rules`. Output columns: pub_key, segment, decided_by
    ('cpc' | 'keyword' | 'classifier' | 'unclassified'), evidence, probability (classifier only).
    Every publication appears at least once.
    """
    segments = segments or load_segments()
    cs = settings or load_classifier_settings()
    rules = assign_by_rules(pubs, symbols, segments)
    decided = set(rules["pub_key"].to_list())
    rest = pubs.filter(~pl.col("pub_key").is_in(list(decided)))
    extra: list[dict[str, object]] = []
    texts, labels = _training_set(pubs, rules)
    segs: list[str] = []
    if rest.height:
        ev = evaluate_classifier(pubs, rules, cs)
        segs = sorted(ev.filter(pl.col("used"))["segment"].to_list())
    if segs and rest.height:
        from sklearn.preprocessing import MultiLabelBinarizer

        mlb = MultiLabelBinarizer(classes=segs)
        y = mlb.fit_transform([[s for s in ls if s in segs] for ls in labels])
        model = _model().fit(texts, y)
        rest_texts = [f"{t or ''} {a or ''}".strip() for t, a in rest.select("title", "abstract").iter_rows()]
        has_text = [i for i, t in enumerate(rest_texts) if t]
        if has_text:
            proba = model.predict_proba([rest_texts[i] for i in has_text])
            keys = rest["pub_key"].to_list()
            for row, i in enumerate(has_text):
                for j, s in enumerate(segs):
                    if proba[row, j] >= cs.probability_threshold:
                        extra.append({"pub_key": keys[i], "segment": s, "decided_by": "classifier",
                                      "evidence": "tf-idf logistic regression", "probability": float(proba[row, j])})
    out = pl.concat([rules, pl.DataFrame(extra, schema=SEGMENT_SCHEMA)])
    missing = pubs.filter(~pl.col("pub_key").is_in(out["pub_key"].to_list())).select("pub_key")
    unclassified = missing.with_columns(
        pl.lit("unclassified").alias("segment"), pl.lit("unclassified").alias("decided_by"),
        pl.lit(None, dtype=pl.Utf8).alias("evidence"), pl.lit(None, dtype=pl.Float64).alias("probability"))
    return pl.concat([out, unclassified]).sort("pub_key", "segment")


def refresh(con: duckdb.DuckDBPyConnection, landscape_only: bool = True) -> dict[str, int]:
    """Recompute publication_segments and segment_classifier_eval in one transaction."""
    import datetime as dt

    where = "WHERE in_landscape" if landscape_only else ""
    pubs = con.sql(f"SELECT pub_key, title, abstract FROM publications {where} ORDER BY pub_key").pl()
    syms = con.sql("SELECT pub_key, symbol FROM classifications ORDER BY pub_key, scheme, position").pl()
    segs = load_segments()
    cs = load_classifier_settings()
    out = assign(pubs, syms, segs, cs)
    ev = evaluate_classifier(pubs, assign_by_rules(pubs, syms, segs), cs).with_columns(
        pl.lit(dt.datetime.now(dt.UTC).replace(tzinfo=None)).alias("computed_at"))
    con.register("_seg", out)
    con.register("_ev", ev)
    try:
        with transaction(con):
            con.execute("DELETE FROM publication_segments").fetchall()
            con.execute("DELETE FROM segment_classifier_eval").fetchall()
            con.execute("INSERT INTO publication_segments SELECT pub_key, segment, decided_by, evidence, probability FROM _seg").fetchall()
            con.execute("INSERT INTO segment_classifier_eval SELECT segment, positives, precision, recall, f1, used, note, computed_at FROM _ev").fetchall()
    finally:
        con.unregister("_seg")
        con.unregister("_ev")
    return {"publications": pubs.height, "segment_rows": out.height,
            "by_classifier": out.filter(pl.col("decided_by") == "classifier").height}
