"""Findings: plain-language answers to the three questions people bring to patentscope, each
with the numbers behind it, the share that is unknown, the assumptions, and the named query
(``queries/findings_*.sql``) that reproduces every number. docs/findings.md states each rule.

1. Do holders of one country (e.g. Japan) hold the basic NdFeB patents?
2. How concentrated is the patent wall, and when does it fall?
3. Can licence fees reach the target share (30%) of an exporter's overseas sales, and under
   what assumptions?

A verdict never outruns its data: below ``[verdict] min_families`` (data/findings.toml) a
block says "too few to judge", with the counts and reasons. The verdict functions are pure
(frames in, dicts out); :func:`findings` runs the named queries against a warehouse.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import polars as pl

from .errors import ConfigError

TOO_FEW = "too few to judge"
NOT_AVAILABLE = "not available"
VERDICT = "verdict"


@dataclass(frozen=True)
class FindingsSettings:
    min_families: int
    majority: float
    min_forward_citations: int
    top: int

    @classmethod
    def load(cls) -> FindingsSettings:
        path = "patentscope/data/findings.toml"
        try:
            doc = tomllib.loads(resources.files("patentscope").joinpath("data/findings.toml").read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None

        def get(table: str, key: str, lo: float, hi: float, whole: bool) -> float:
            v = doc.get(table, {}).get(key)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi
            if not ok or (whole and v != int(v)):
                kind = "a whole number" if whole else "a number"
                raise ConfigError(f"{path}: {table}.{key}: expected {kind} from {lo:g} to {hi:g}, got {v!r}")
            return float(v)

        return cls(int(get("verdict", "min_families", 1, 1e6, True)), get("verdict", "majority", 0, 1, False),
                   int(get("basic", "min_forward_citations", 0, 1e6, True)), int(get("basic", "top", 1, 1e6, True)))


def _num(name: str, value: Any, query: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "value": value, "query": query, "params": {k: str(v) for k, v in params.items()}}


def basic_holders_block(rows: pl.DataFrame, st: FindingsSettings, params: dict[str, Any]) -> dict[str, Any]:
    """Question 1 from ``findings_basic_holders`` rows (holder_country, families, share,
    n_candidates, n_in_force, n_status_unknown)."""
    q = "findings_basic_holders"
    n = int(rows["n_in_force"][0]) if rows.height else 0
    n_cand = int(rows["n_candidates"][0]) if rows.height else 0
    n_unk = int(rows["n_status_unknown"][0]) if rows.height else 0
    shares = {r["holder_country"]: float(r["share"]) for r in rows.to_dicts()}
    unknown = sum(v for k, v in shares.items() if k in ("unknown", "(no holder shown)"))
    known = {k: v for k, v in shares.items() if k not in ("unknown", "(no holder shown)")}
    numbers = [_num("candidate basic families", n_cand, q, params), _num("of them in force", n, q, params),
               _num("of them with unknown status", n_unk, q, params)]
    numbers += [_num(f"share held from {k}", round(v, 4), q, params) for k, v in sorted(known.items(), key=lambda kv: -kv[1])]
    out: dict[str, Any] = {
        "question": "Do holders of one country (e.g. Japan) hold the basic NdFeB patents?",
        "numbers": numbers, "unknown": {"holder country unknown or no holder shown": round(unknown, 4),
                                        "families of unknown status (left out)": n_unk},
        "assumptions": [f"basic = at least {st.min_forward_citations} forward citations and within the top {st.top} ranks "
                        "of age-rescaled PageRank (data/findings.toml; docs/centrality.md)",
                        "in force = the expiry engine's interval contains the date, no bad-input flag"]}
    if n < st.min_families:
        out.update(status=TOO_FEW, verdict=f"{TOO_FEW}: {n} candidate basic families in force (threshold {st.min_families}); "
                   f"{n_cand} candidates, {n_unk} of unknown status")
        return out
    top_c, top_s = max(known.items(), key=lambda kv: kv[1]) if known else ("none", 0.0)
    if top_s > st.majority:
        verdict = f"yes: holders from {top_c} hold {top_s:.0%} of the {n} in-force basic families"
    elif top_s + unknown > st.majority:
        out.update(status=TOO_FEW, verdict=f"{TOO_FEW}: holders from {top_c} hold {top_s:.0%} and {unknown:.0%} is of unknown "
                   "country: the unknown share could decide the majority")
        return out
    else:
        verdict = f"no: no country holds a majority; the largest, {top_c}, holds {top_s:.0%} of {n}"
    out.update(status=VERDICT, verdict=verdict)
    return out


def wall_block(cells: pl.DataFrame, cliffs: pl.DataFrame, st: FindingsSettings, year: int) -> dict[str, Any]:
    """Question 2 from ``findings_wall`` rows (year ``year``) and ``findings_cliffs`` rows."""
    pw: dict[str, Any] = {"year": year}
    pc: dict[str, Any] = {}
    numbers, judged = [], []
    for r in cells.to_dicts():
        scope = f"{r['scope_type']}:{r['scope_value']}"
        numbers.append(_num(f"{scope} in-force families", r["n_families"], "findings_wall", pw))
        if r["label"] != "too few to judge" and r["hhi"] is not None:
            numbers += [_num(f"{scope} HHI", round(float(r["hhi"]), 1), "findings_wall", pw),
                        _num(f"{scope} CR4", round(float(r["cr4"]), 4), "findings_wall", pw)]
            judged.append((scope, r))
    big = cliffs.filter(pl.col("families_in_force") >= st.min_families)
    for r in big.head(5).to_dicts():
        numbers.append(_num(f"cliff year of {r['holder_group']} ({r['families_in_force']} families)", r["cliff_year"],
                            "findings_cliffs", pc))
    allc = cells.filter(pl.col("scope_type") == "all").to_dicts()
    excl = {k: int(sum(x or 0 for x in cells.filter(pl.col("scope_type") == "all")[k].to_list()))
            for k in ("n_unattributed", "n_status_unknown")} if allc else {}
    out: dict[str, Any] = {
        "question": "How concentrated is the patent wall, and when does it fall?", "numbers": numbers,
        "unknown": {"families with no holder shown (left out)": excl.get("n_unattributed", 0),
                    "families of unknown status (left out)": excl.get("n_status_unknown", 0)},
        "assumptions": ["HHI over in-force families, co-owned families split; the 1,800 line is a merger-guideline "
                        "analogy, not a legal test (docs/metrics.md)",
                        "cliff = the year half of a group's in-force families expire (expiry engine)"]}
    if not allc or not judged:
        n = int(allc[0]["n_families"]) if allc else 0
        out.update(status=TOO_FEW, verdict=f"{TOO_FEW}: {n} in-force families in {year} for the whole landscape and no "
                   f"segment or jurisdiction with {st.min_families} or more")
        return out
    parts = [f"{s}: HHI {float(r['hhi']):,.0f}, CR4 {float(r['cr4']):.0%} over {r['n_families']} families ({r['label']})"
             for s, r in judged[:4]]
    cl = [f"{r['holder_group']} {r['cliff_year']}" for r in big.head(3).to_dicts() if r["cliff_year"] is not None]
    out.update(status=VERDICT, verdict="; ".join(parts) + (f". Cliffs: {', '.join(cl)}" if cl else ""))
    return out


def fee_block(rows: pl.DataFrame, n_families: int, st: FindingsSettings, year: int) -> dict[str, Any]:
    """Question 3 from ``findings_fee_burden`` rows; ``n_families`` = landscape families in
    force in the year (the portfolio the burden rests on)."""
    p = {"year": year}
    q = "findings_fee_burden"
    out: dict[str, Any] = {"question": "Can licence fees reach the target share of an exporter's overseas sales?",
                           "numbers": [], "unknown": {},
                           "assumptions": ["rates are scenario assumptions (no NdFeB royalty rate is public); docs/royalty.md"]}
    if rows.height == 0:
        out.update(status=NOT_AVAILABLE, verdict=f"{NOT_AVAILABLE}: no royalty results for {year}; run `patentscope royalty`")
        return out
    for r in rows.to_dicts():
        tag = f"{r['exporter']} {r['variant']}"
        out["numbers"] += [_num(f"{tag} burden P5/P50/P95", [round(r[k], 4) for k in ("burden_p5", "burden_p50", "burden_p95")], q, p),
                           _num(f"{tag} licensed/unlicensed/refused/compulsory groups",
                                [r["n_licensed"], r["n_unlicensed"], r["n_refused"], r["n_compulsory"]], q, p)]
    inv = rows.unique(["scenario", "exporter"], keep="first").to_dicts()
    out["numbers"] += [_num(f"{r['exporter']} rate per licensor for {r['target_burden']:.0%}",
                            r["required_avg_rate"] if r["reachable"] else r["why"], q, p) for r in inv]
    bad = sorted({r["variant"] for r in rows.to_dicts() if r["infeasible"]})
    if n_families < st.min_families:
        out.update(status=TOO_FEW, verdict=f"{TOO_FEW}: the burden rests on {n_families} in-force families "
                   f"(threshold {st.min_families})" + (f"; infeasible (above 100% of sales) under {', '.join(bad)}" if bad else ""))
        return out
    target = float(rows["target_burden"].drop_nulls()[0]) if rows["target_burden"].drop_nulls().len() else 0.30
    reach = sorted({r["variant"] for r in rows.to_dicts() if r["burden_p95"] >= target and not r["infeasible"]})
    med = sorted({r["variant"] for r in rows.to_dicts() if r["burden_p50"] >= target and not r["infeasible"]})
    verdict = (f"{target:.0%} of export sales is reached at the median under {', '.join(med)}" if med else
               f"{target:.0%} is reached only at P95 under {', '.join(reach)}" if reach else
               f"{target:.0%} is not reached under any feasible rate variant")
    if bad:
        verdict += f"; burdens above 100% of sales (infeasible) under {', '.join(bad)}"
    unreach = [r["exporter"] for r in inv if r["reachable"] is False]
    if unreach:
        verdict += f"; no per-licensor rate reaches it for {', '.join(unreach)} under the scenario's apportionment"
    out.update(status=VERDICT, verdict=verdict)
    return out


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}


def findings(con: duckdb.DuckDBPyConnection, at: dt.date, settings: FindingsSettings | None = None) -> dict[str, Any]:
    """Run the named queries against a (read-only) warehouse and build the three blocks."""
    from .errors import PatentscopeError
    from .warehouse.query import get_query, run_read_only

    st = settings or FindingsSettings.load()
    have = _tables(con)
    if "concentration_stats" not in have or not con.execute("SELECT count(*) FROM ingest_runs WHERE source = 'analyze' "
                                                             "AND status IN ('ok', 'partial')").fetchall()[0][0]:
        raise PatentscopeError("the warehouse has not been analyzed; run `patentscope analyze` first")

    def run(name: str, params: dict[str, Any]) -> pl.DataFrame:
        nq = get_query(name)
        return run_read_only(con, nq.sql, nq.bind({k: str(v) for k, v in params.items()}))

    bp = {"at": at.isoformat(), "min_forward": st.min_forward_citations, "top": st.top}
    b1 = basic_holders_block(run("findings_basic_holders", bp), st, bp)
    b2 = wall_block(run("findings_wall", {"year": at.year}), run("findings_cliffs", {}), st, at.year)
    fee = run("findings_fee_burden", {"year": at.year})
    n_live = con.execute("SELECT count(DISTINCT e.family_id) FROM expiry_results e JOIN publications p USING (pub_key) "
                         "WHERE p.in_landscape AND e.in_force_from <= $at AND $at < e.expiry_date", {"at": at}).fetchall()[0][0]
    b3 = fee_block(fee, int(n_live), st, at.year)
    return {"at": at.isoformat(), "min_families": st.min_families, "blocks": [b1, b2, b3]}


def as_text(f: dict[str, Any]) -> str:
    lines = [f"Findings at {f['at']} (verdicts need at least {f['min_families']} families; docs/findings.md)"]
    for b in f["blocks"]:
        lines += ["", b["question"], f"  -> {b['verdict']}"]
        for n in b["numbers"]:
            lines.append(f"     {n['name']}: {n['value']}   [query {n['query']}"
                         + (" " + " ".join(f"{k}={v}" for k, v in n["params"].items()) if n["params"] else "") + "]")
        for k, v in b["unknown"].items():
            lines.append(f"     unknown: {k}: {v}")
        for a in b["assumptions"]:
            lines.append(f"     assumption: {a}")
    return "\n".join(lines)
