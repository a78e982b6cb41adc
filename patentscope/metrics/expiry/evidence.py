"""The record's own status evidence: what a page showed (``field_values`` ``status_as_shown`` and
``expiry_as_shown``), normalised to legal-state evidence the expiry engine weighs against its
computed term (docs/expiry.md "Status evidence").

Normalisation is by words the sources print (Google Patents' legal-status line, patentcut/Justia,
J-PlatPat, CNIPA and KIPRIS status words; docs/sources.md). Text that matches no known form is
kept as ``unrecognised`` and reported, never dropped silently.
"""

from __future__ import annotations

import re

import polars as pl

from ...normalize.dates import parse_date

# state: what the shown status means for the patent
#   lapsed_fee    ended early for non-payment of a fee
#   expired_term  ended at the end of its term
#   ended         ended, reason not shown
#   abandoned     application or patent given up / withdrawn / refused
#   no_exam_request  (JP/CN/KR) examination not requested yet
#   in_force      in force / registered
#   pending       application under examination
#   granted       granted (says nothing about today)
#   fee_paid      fees shown as paid
ENDED_STATES = ("lapsed_fee", "expired_term", "ended")
_FORMS: tuple[tuple[str, str], ...] = (
    (r"expired\s*-\s*fee\s*related", "lapsed_fee"),
    (r"expired\s*-\s*lifetime", "expired_term"),
    (r"fee\s+status:\s*paid", "fee_paid"),
    (r"^\s*(expired|ceased|lapsed|not\s+in\s+force)\b", "ended"),
    (r"失效|소멸|권리\s*소멸|消滅|権利消滅|期限届满|期限届滿", "ended"),
    (r"abandon|withdrawn|みなし取下げ|取下げ|拒絶査定|驳回|撤回|视为撤回|거절|취하|포기|refused|rejected|revoked", "abandoned"),
    (r"未請求|審査請求\s*未", "no_exam_request"),
    (r"^\s*active\b|有效|등록|존속|in\s+force", "in_force"),
    (r"pending|审中|実質審査|審査中|심사", "pending"),
    (r"granted|授权|登録|특허", "granted"),
)
_PRECEDENCE = ("lapsed_fee", "expired_term", "ended", "abandoned", "in_force", "pending", "no_exam_request", "granted")
_OTHER_PUB = re.compile(r"\b[A-Z]{2}\d{6,}[A-Z]\d?\b")


def normalise_status(text: str | None) -> list[tuple[str, str]]:
    """The (state, segment) pairs a shown status means, most relevant first. A segment marked
    '(current)' wins; a segment about another publication ('US7883587B2 Active') is reported
    as ('other_publication', ...) and not used; text matching no form gives ('unrecognised', text)."""
    if not text or not text.strip():
        return []
    segments = [s.strip() for s in re.split(r"[;\n]", text) if s.strip()]
    current = [s for s in segments if "(current)" in s.lower()]
    out: list[tuple[str, str]] = []
    for seg in current or segments:
        if _OTHER_PUB.search(seg):
            out.append(("other_publication", seg))
            continue
        state = next((st for rx, st in _FORMS if re.search(rx, seg, re.I)), "unrecognised")
        out.append((state, seg))
    return out


def _rank(state: str) -> int:
    return _PRECEDENCE.index(state) if state in _PRECEDENCE else len(_PRECEDENCE)


EVIDENCE_SCHEMA = {"pub_key": pl.String, "shown_state": pl.String, "shown_text": pl.String, "shown_expiry": pl.Date,
                   "shown_expiry_is_estimate": pl.Boolean, "shown_fee_paid": pl.Boolean, "shown_date": pl.Date,
                   "evidence_text": pl.String}


def evidence_frame(field_values: pl.DataFrame) -> pl.DataFrame:
    """One row per publication with status evidence (columns ``EVIDENCE_SCHEMA``), from
    field_values rows (pub_key, field, value, source[, source_record]) of status_as_shown and
    expiry_as_shown. Works per distinct text, so a million publications parse a few hundred strings."""
    if field_values.height == 0:
        return pl.DataFrame(schema=EVIDENCE_SCHEMA)
    fv = field_values.filter(pl.col("field").is_in(["status_as_shown", "expiry_as_shown"]))
    texts = {t: normalise_status(t) for t in fv.filter(pl.col("field") == "status_as_shown")["value"].unique().to_list()}
    dates = {t: parse_date(re.sub(r"\s*\(.*$", "", t)) for t in fv.filter(pl.col("field") == "expiry_as_shown")["value"]
             .unique().to_list()}
    rows: dict[str, dict] = {}
    for r in fv.iter_rows(named=True):
        d = rows.setdefault(r["pub_key"], {"states": [], "parts": [], "expiry": None, "estimate": None, "fee_paid": False})
        src = r.get("source") or "unknown source"
        if r["field"] == "status_as_shown":
            for st_, seg in texts.get(r["value"], []):
                d["states"].append(st_)
                d["fee_paid"] |= st_ == "fee_paid"
                d["parts"].append(f"status_as_shown {seg!r} ({src}) -> {st_}")
        else:
            when = dates.get(r["value"])
            est = "est." in r["value"].lower() or "estimate" in r["value"].lower()
            d["parts"].append(f"expiry_as_shown {r['value']!r} ({src}) -> "
                              + (f"{when}{' (an estimate: not weighed)' if est else ''}" if when else "unrecognised"))
            if when is not None and (d["expiry"] is None or not est):
                d["expiry"], d["estimate"] = when, est
    out = []
    for key, d in rows.items():
        usable = [s for s in d["states"] if s in _PRECEDENCE]
        state: str | None = min(usable, key=_rank) if usable else None
        out.append({"pub_key": key, "shown_state": state,
                    "shown_text": "; ".join(sorted(set(d["states"]))) or None, "shown_expiry": d["expiry"],
                    "shown_expiry_is_estimate": d["estimate"], "shown_fee_paid": d["fee_paid"], "shown_date": None,
                    "evidence_text": "; ".join(sorted(d["parts"]))})
    return pl.DataFrame(out, schema=EVIDENCE_SCHEMA)
