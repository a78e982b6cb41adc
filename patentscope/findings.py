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
from .warehouse.connection import tables as _tables

TOO_FEW = "too few to judge"
NOT_AVAILABLE = "not available"
VERDICT = "verdict"


@dataclass(frozen=True)
class FindingsSettings:
    min_families: int
    majority: float
    min_forward_citations: int
    top: int
    years: int = 30

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
                   int(get("basic", "min_forward_citations", 0, 1e6, True)), int(get("basic", "top", 1, 1e6, True)),
                   int(get("over_time", "years", 0, 100, True)))


def pct(x: float | None, digits: int = 1) -> str:
    """A fraction as a percentage ('43.1%'); 'unknown' for None."""
    return "unknown" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"


def _num(name: str, value: Any, query: str, params: dict[str, Any], row: dict[str, Any] | None = None,
         column: str | None = None, display: str | None = None) -> dict[str, Any]:
    """One number of a block: ``value`` as stored (rounded), ``display`` as printed, and where it
    comes from: ``query`` with ``params``, the result row whose columns equal ``row`` and its
    ``column`` (None when the number is derived from several rows; docs/findings.md says how)."""
    return {"name": name, "value": value, "display": display if display is not None else str(value), "query": query,
            "params": {k: str(v) for k, v in params.items()}, "row": {k: str(v) for k, v in (row or {}).items()} or None,
            "column": column}


UNKNOWN_HOLDERS = ("unknown", "(no holder shown)")


def _set_outcome(at_rows: list[dict[str, Any]], later: dict[int, list[dict[str, Any]]], basis: str, st: FindingsSettings,
                 year0: int) -> dict[str, Any]:
    """Leader, shares and the year the leader's share falls below the majority line, for one
    family set and holder basis. ``at_rows``: the query rows of the date; ``later``: year -> rows."""
    n = int(at_rows[0]["n_in_force"]) if at_rows else 0
    shares = {r["holder"]: float(r["share"]) for r in at_rows if r["holder"] is not None and r["share"] is not None}
    unknown = sum(v for k, v in shares.items() if k in UNKNOWN_HOLDERS)
    known = sorted(((k, v) for k, v in shares.items() if k not in UNKNOWN_HOLDERS), key=lambda kv: (-kv[1], kv[0]))
    out: dict[str, Any] = {"basis": basis, "n": n, "shares": known, "unknown": unknown, "leader": None, "share": 0.0,
                           "decided": False, "majority": False, "below_year": None, "too_few_year": None}
    if known:
        out["leader"], out["share"] = known[0]
    if n < st.min_families:
        return out
    s = out["share"]
    if s > st.majority:
        out.update(decided=True, majority=True)
        for y in sorted(later):
            if y <= year0:
                continue
            rows = later[y]
            ny = int(rows[0]["n_in_force"]) if rows else 0
            if ny < st.min_families:
                out["too_few_year"] = y
                break
            sy = sum(float(r["share"]) for r in rows if r["holder"] == out["leader"] and r["share"] is not None)
            if sy < st.majority:
                out["below_year"] = y
                break
    elif s + unknown <= st.majority:
        out["decided"] = True
    return out


def _outcome_text(o: dict[str, Any], st: FindingsSettings, horizon: int) -> str:
    who = "holders from " + str(o["leader"]) if o["basis"] == "country" else str(o["leader"])
    if o["n"] < st.min_families:
        return f"{TOO_FEW} ({o['n']} in force, threshold {st.min_families})"
    if o["majority"]:
        after = (f"falls below {pct(st.majority, 0)} in {o['below_year']}" if o["below_year"] else
                 f"fewer than {st.min_families} remain in force from {o['too_few_year']} (then too few to judge)"
                 if o["too_few_year"] else f"stays above {pct(st.majority, 0)} up to {horizon}")
        return f"yes: {who} hold {pct(o['share'], 0)} of {o['n']}; the share {after}"
    if not o["decided"] and o["leader"] is None:
        return f"{TOO_FEW}: no {o['basis']} is known for any of the {o['n']} ({pct(o['unknown'], 0)} unknown)"
    if not o["decided"]:
        return (f"{TOO_FEW}: {who} hold {pct(o['share'], 0)} and {pct(o['unknown'], 0)} is of unknown holder: "
                "the unknown share could decide the majority")
    lead = f"the largest, {who}, hold {pct(o['share'])}" if o["leader"] else "no holder is known"
    return f"no: no {'country' if o['basis'] == 'country' else 'group'} holds a majority of {o['n']}; {lead}"


def basic_holders_block(rows: pl.DataFrame, st: FindingsSettings, params: dict[str, Any]) -> dict[str, Any]:
    """Question 1 from ``findings_basic_holders`` rows (family_set, holder_basis, day, year,
    holder, families, share, n_set, n_in_force, n_status_unknown): for the central set and each
    segment's blocking set, the shares by holder country and by group at the date, and the year
    the leading holder's share falls below the majority line as the families expire."""
    q = "findings_basic_holders"
    at = dt.date.fromisoformat(str(params["at"]))
    horizon = at.year + int(params.get("years", st.years))
    numbers: list[dict[str, Any]] = []
    unknown: dict[str, Any] = {}
    lines: list[str] = []
    decided_any = False
    data = rows.to_dicts()
    sets = sorted({r["family_set"] for r in data}, key=lambda s: (s != "central", s))
    for fs in sets:
        mine = [r for r in data if r["family_set"] == fs]
        base = [r for r in mine if r["day"] == at and r["holder_basis"] == "country"]
        if not base:
            continue
        key = {"family_set": fs, "holder_basis": "country", "day": at}
        r0 = base[0]
        if fs != "central" and r0["n_in_force"] == 0:
            continue  # a segment with no family in force on the date: nothing to say about it
        numbers += [_num(f"{fs}: families in the set", r0["n_set"], q, params, key, "n_set"),
                    _num(f"{fs}: in force on {at}", r0["n_in_force"], q, params, key, "n_in_force"),
                    _num(f"{fs}: of unknown status (left out)", r0["n_status_unknown"], q, params, key, "n_status_unknown")]
        parts = []
        for basis in ("country", "group"):
            at_rows = [r for r in mine if r["day"] == at and r["holder_basis"] == basis]
            later: dict[int, list[dict[str, Any]]] = {}
            for r in mine:
                if r["holder_basis"] == basis:
                    later.setdefault(int(r["year"]), []).append(r)
            o = _set_outcome(at_rows, later, basis, st, at.year)
            decided_any = decided_any or o["decided"]
            for h, v in o["shares"][:3]:
                numbers.append(_num(f"{fs}: share held by {basis} {h}", round(v, 4), q, params,
                                    {"family_set": fs, "holder_basis": basis, "day": at, "holder": h}, "share", pct(v)))
            if o["majority"]:
                yr = o["below_year"] or o["too_few_year"]
                what = "falls below " + pct(st.majority, 0) if o["below_year"] else (
                    f"in force drops below {st.min_families}" if o["too_few_year"] else "stays above the line")
                numbers.append(_num(f"{fs}: year the share of {o['leader']} {what}", yr, q, params, None, None,
                                    str(yr) if yr else f"not before {horizon}"))
            unknown[f"{fs}: share of unknown {'country or no holder' if basis == 'country' else 'holder'}"] = pct(o["unknown"])
            parts.append(f"by {basis}: {_outcome_text(o, st, horizon)}")
        unknown[f"{fs}: families of unknown status (left out)"] = r0["n_status_unknown"]
        lines.append(f"{fs}: " + "; ".join(parts))
    out: dict[str, Any] = {
        "question": "Do holders of one country (e.g. Japan) hold the basic NdFeB patents?",
        "numbers": numbers, "unknown": unknown,
        "assumptions": [f"central = at least {st.min_forward_citations} forward citations and within the top {st.top} ranks "
                        "of age-rescaled PageRank (data/findings.toml; docs/centrality.md)",
                        "blocking: SEGMENT = every landscape family classified in the segment (what an exporter of it may "
                        "need a licence under; docs/royalty.md)",
                        "in force on a day = inside the expiry engine's interval and outside reinstated lapses, with no "
                        "bad-input flag and a status other than unknown; later years are the engine's projection (no new "
                        "grants, no lapses beyond those recorded)",
                        f"majority = a share above {pct(st.majority, 0)}; each co-held family counts 1/k to each of its k holders"]}
    central = [r for r in data if r["family_set"] == "central" and r["day"] == at]
    if not central:
        lines.insert(0, f"central: no candidate family (none with {st.min_forward_citations} or more forward citations "
                        "and an age-rescaled PageRank)")
    if not lines or not decided_any:
        n = int(central[0]["n_in_force"]) if central else 0
        reason = "; ".join(lines) if lines else f"{n} central families in force"
        out.update(status=TOO_FEW, verdict=f"{TOO_FEW} (a verdict needs {st.min_families} in-force families in a set): {reason}")
        return out
    out.update(status=VERDICT, verdict=" | ".join(lines))
    return out


def wall_block(cells: pl.DataFrame, cliffs: pl.DataFrame, st: FindingsSettings, year: int) -> dict[str, Any]:
    """Question 2 from ``findings_wall`` rows (year ``year``) and ``findings_cliffs`` rows."""
    pw: dict[str, Any] = {"year": year}
    pc: dict[str, Any] = {}
    numbers, judged, few = [], [], []
    for r in cells.to_dicts():
        scope = f"{r['scope_type']}:{r['scope_value']}"
        key = {"scope_type": r["scope_type"], "scope_value": r["scope_value"]}
        numbers.append(_num(f"{scope} in-force families", r["n_families"], "findings_wall", pw, key, "n_families"))
        if r["label"] != TOO_FEW and r["hhi"] is not None:
            numbers += [_num(f"{scope} HHI", round(float(r["hhi"]), 1), "findings_wall", pw, key, "hhi", f"{float(r['hhi']):,.0f}"),
                        _num(f"{scope} CR4", round(float(r["cr4"]), 4), "findings_wall", pw, key, "cr4", pct(r["cr4"])),
                        _num(f"{scope} year its in-force families fall below half", r.get("cliff_year"), "findings_wall", pw, key,
                             "cliff_year", str(r["cliff_year"]) if r.get("cliff_year") else f"not by {r.get('last_year')}")]
            judged.append((scope, r))
        elif r["scope_type"] != "all":
            few.append(f"{scope} ({r['n_families']})")
    big = cliffs.filter(pl.col("families_in_force") >= st.min_families)
    for r in big.head(5).to_dicts():
        numbers.append(_num(f"cliff year of {r['holder_group']} ({r['families_in_force']} families)", r["cliff_year"],
                            "findings_cliffs", pc, {"holder_group": r["holder_group"]}, "cliff_year"))
    allc = cells.filter(pl.col("scope_type") == "all").to_dicts()
    excl = {k: int(sum(x or 0 for x in cells.filter(pl.col("scope_type") == "all")[k].to_list()))
            for k in ("n_unattributed", "n_status_unknown")} if allc else {}
    out: dict[str, Any] = {
        "question": "How concentrated is the patent wall, and when does it fall?", "numbers": numbers,
        "unknown": {"families with no holder shown (left out)": excl.get("n_unattributed", 0),
                    "families of unknown status (left out)": excl.get("n_status_unknown", 0)},
        "assumptions": ["HHI over in-force families, co-owned families split; the 1,800 line is a merger-guideline "
                        "analogy, not a legal test (docs/metrics.md)",
                        "a cell's fall = the first later year its in-force families are fewer than half of this year's "
                        "(the expiry engine's projection: no new grants)",
                        "cliff = the year half of a group's in-force families expire (expiry engine)"]}
    if not allc or not judged:
        n = int(allc[0]["n_families"]) if allc else 0
        out.update(status=TOO_FEW, verdict=f"{TOO_FEW}: {n} in-force families in {year} for the whole landscape and no "
                   f"segment or market with {st.min_families} or more")
        return out
    parts = [f"{s}: HHI {float(r['hhi']):,.0f}, CR4 {pct(r['cr4'], 0)} over {r['n_families']} families ({r['label']}), "
             + (f"below half by {r['cliff_year']}" if r.get("cliff_year") else f"above half up to {r.get('last_year')}")
             for s, r in judged[:6]]
    cl = [f"{r['holder_group']} {r['cliff_year']}" for r in big.head(3).to_dicts() if r["cliff_year"] is not None]
    verdict = "; ".join(parts) + (f". Cliffs of the largest holders: {', '.join(cl)}" if cl else "")
    if few:
        verdict += f". {TOO_FEW}: {', '.join(few[:6])}" + (f" and {len(few) - 6} more" if len(few) > 6 else "")
    out.update(status=VERDICT, verdict=verdict)
    return out


def _max_number(v: Any) -> float | None:
    """The largest number in a scenario value (a number, a {uniform/triangular/fixed = ...} table, nested)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    xs = [_max_number(x) for x in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else [])]
    ys = [x for x in xs if x is not None]
    return max(ys) if ys else None


def scenario_terms(text: str) -> dict[str, Any]:
    """From a stored scenario file (royalty_scenarios.text): the apportionment ('stack' or
    'cap'), the cap at its highest value (fraction of sales; None under 'stack') and the highest
    percent rate any licensor is assumed to charge (base rates and every variant)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {"method": None, "cap": None, "max_rate": None}
    app = doc.get("apportionment", {})
    method = app.get("method", "stack")
    rates = []
    for tab in [doc.get("rates", {}), *doc.get("variant", [])]:
        for k in ("unlicensed", "licensed", "unlicensed_by_group"):
            v = tab.get(k)
            if isinstance(v, dict):
                pcts = [v["percent"]] if "percent" in v else [x.get("percent") for x in v.values() if isinstance(x, dict)]
                rates += [m for m in (_max_number(p) for p in pcts if p is not None) if m is not None]
    return {"method": method, "cap": _max_number(app.get("cap")) if method == "cap" else None,
            "max_rate": max(rates) if rates else None}


def inverse_statement(r: dict[str, Any], terms: dict[str, Any]) -> tuple[bool, str]:
    """(reachable, sentence): the per-licensor rate that gives the target, as a percentage,
    compared with the scenario's cap (under 'cap') or with the highest rate it assumes (under
    'stack', which has no cap)."""
    target = pct(r["target_burden"], 0)
    if not r["reachable"] or r["required_avg_rate"] is None:
        return False, f"NOT reachable: no per-licensor rate gives {target} ({r['why']})"
    rate = float(r["required_avg_rate"])
    if terms.get("method") == "cap" and terms.get("cap") is not None:
        return True, (f"reachable under the scenario's aggregate cap of {pct(terms['cap'])}: a per-licensor rate of "
                      f"{pct(rate, 2)} gives {target}")
    mx = terms.get("max_rate")
    if mx is not None and rate > mx + 1e-12:
        return False, (f"NOT reachable under the scenario's rate assumptions: it needs {pct(rate, 2)} per licensor "
                       f"(rates stack, no cap), above the highest rate it assumes ({pct(mx)})")
    tail = f", within the rates it assumes (up to {pct(mx)})" if mx is not None else ""
    return True, f"reachable: {pct(rate, 2)} per licensor gives {target} (rates stack, no cap){tail}"


def fee_block(rows: pl.DataFrame, n_families: int, st: FindingsSettings, year: int,
              terms: dict[str, dict[str, Any]] | None = None, over_years: pl.DataFrame | None = None) -> dict[str, Any]:
    """Question 3 from ``findings_fee_burden`` rows (every market and 'ALL'); ``n_families`` =
    landscape families in force in the year (the portfolio the burden rests on); ``terms``:
    scenario -> :func:`scenario_terms`; ``over_years``: ``findings_fee_burden_years`` rows."""
    p = {"year": year}
    q = "findings_fee_burden"
    terms = terms or {}
    out: dict[str, Any] = {"question": "Can licence fees reach the target share of an exporter's overseas sales?",
                           "numbers": [], "unknown": {},
                           "assumptions": ["rates are scenario assumptions (no NdFeB royalty rate is public); docs/royalty.md",
                                           "burden = royalties / the exporter's sales in the market ('ALL': all its export "
                                           "sales); infeasible = P95 above 100% of sales"]}
    if rows.height == 0:
        out.update(status=NOT_AVAILABLE, verdict=f"{NOT_AVAILABLE}: no royalty results for {year}; run `patentscope royalty`")
        return out
    data = rows.to_dicts()
    quiet = sorted({f"{r['exporter']} -> {r['market']}" for r in data if r["market"] != "ALL" and not r["n_blocking"]
                    and not (r["burden_p95"] or 0)})
    if quiet:
        out["numbers"].append(_num("markets where no family blocks (burden 0)", len(quiet), q, p, None, None, ", ".join(quiet)))
    for r in data:
        if f"{r['exporter']} -> {r['market']}" in quiet:
            continue
        key = {"scenario": r["scenario"], "variant": r["variant"], "exporter": r["exporter"], "market": r["market"]}
        tag = f"{r['exporter']} -> {r['market']} {r['variant']}"
        band = [r["burden_p5"], r["burden_p50"], r["burden_p95"]]
        flag = " INFEASIBLE (P95 above 100% of sales)" if r["infeasible"] else ""
        out["numbers"].append(_num(f"{tag} burden P5/P50/P95", [None if x is None else round(x, 4) for x in band], q, p, key,
                                   "burden_p5,burden_p50,burden_p95", " / ".join(pct(x) for x in band) + flag))
        if r["driver"] is not None:
            out["numbers"].append(_num(f"{tag} licence status driving it", r["driver"], q, p, key, "driver",
                                       f"{r['driver']} ({pct(r['driver_share'], 0)} of the median charge; groups licensed/"
                                       f"unlicensed/refused/compulsory {r['n_licensed']}/{r['n_unlicensed']}/"
                                       f"{r['n_refused']}/{r['n_compulsory']})"))
    for r in (over_years.filter(pl.col("market") == "ALL").to_dicts() if over_years is not None else []):
        key = {"scenario": r["scenario"], "variant": r["variant"], "exporter": r["exporter"], "market": "ALL"}
        at_target = (f"the median reaches the target from {r['first_year_at_target']}" if r["first_year_at_target"]
                     else "the median never reaches the target")
        inf = f"; infeasible in {r['infeasible_years']} of the years" if r["infeasible_years"] else ""
        out["numbers"].append(_num(f"{r['exporter']} -> ALL {r['variant']} peak median burden {r['first_year']}-{r['last_year']}",
                                   round(float(r["peak_p50"]), 4) if r["peak_p50"] is not None else None,
                                   "findings_fee_burden_years", {}, key, "peak_p50",
                                   f"{pct(r['peak_p50'])} in {r['peak_year']}; {at_target}{inf}"))
    inv = {(r["scenario"], r["exporter"]): r for r in data if r["market"] == "ALL"}
    reach_txt = []
    for (scen, ex), r in sorted(inv.items()):
        if r["target_burden"] is None:
            continue
        ok, sentence = inverse_statement(r, terms.get(scen, {}))
        key = {"scenario": scen, "exporter": ex, "market": "ALL", "variant": r["variant"]}
        out["numbers"].append(_num(f"{ex}: per-licensor rate for {pct(r['target_burden'], 0)} of sales",
                                   None if r["required_avg_rate"] is None else round(float(r["required_avg_rate"]), 6),
                                   q, p, key, "required_avg_rate", sentence))
        reach_txt.append((ex, ok, sentence))
    bad_by: dict[str, list[str]] = {}
    for r in data:
        if r["infeasible"]:
            bad_by.setdefault(f"{r['exporter']} -> {r['market']}", []).append(r["variant"])
    bad = [f"{k} under {', '.join(sorted(v))}" for k, v in sorted(bad_by.items())]
    bad_txt = f"; infeasible (P95 above 100% of sales): {'; '.join(bad)}" if bad else ""
    if n_families < st.min_families:
        out.update(status=TOO_FEW, verdict=f"{TOO_FEW}: the burden rests on {n_families} in-force families "
                   f"(threshold {st.min_families})" + bad_txt)
        return out
    allm = [r for r in data if r["market"] == "ALL"]
    tg = [r["target_burden"] for r in allm if r["target_burden"] is not None]
    target = float(tg[0]) if tg else 0.30
    med = sorted({r["variant"] for r in allm if r["burden_p50"] is not None and r["burden_p50"] >= target and not r["infeasible"]})
    reach = sorted({r["variant"] for r in allm if r["burden_p95"] is not None and r["burden_p95"] >= target and not r["infeasible"]})
    feasible = [r for r in allm if not r["infeasible"]]
    blockers = max((r["n_blocking"] or 0 for r in allm), default=0)
    verdict = (f"{pct(target, 0)} of export sales is reached at the median under {', '.join(med)}" if med else
               f"{pct(target, 0)} is reached only at P95 under {', '.join(reach)}" if reach else
               f"{pct(target, 0)} is not reached under any feasible rate variant" if feasible else
               f"no verdict on {pct(target, 0)}: every rate variant gives a burden above 100% of sales (infeasible), so "
               f"the scenario's rates cannot all be charged together by the {blockers} blocking holder groups")
    top = max(allm, key=lambda r: r["burden_p95"] or 0.0) if allm else None
    if top is not None:
        verdict += (f" (highest: {top['exporter']} under {top['variant']}, P50 {pct(top['burden_p50'])}, "
                    f"P95 {pct(top['burden_p95'])}, driven by {top['driver'] or 'no charge'})")
    verdict += bad_txt
    for ex, _ok, sentence in reach_txt:
        verdict += f"; {ex}: {sentence}"
    out.update(status=VERDICT, verdict=verdict)
    return out


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

    bp = {"at": at.isoformat(), "min_forward": st.min_forward_citations, "top": st.top, "years": st.years}
    b1 = basic_holders_block(run("findings_basic_holders", bp), st, bp)
    b2 = wall_block(run("findings_wall", {"year": at.year}), run("findings_cliffs", {}), st, at.year)
    fee = run("findings_fee_burden", {"year": at.year})
    n_live = con.execute("SELECT count(DISTINCT e.family_id) FROM expiry_results e JOIN publications p USING (pub_key) "
                         "WHERE p.in_landscape AND e.in_force_from <= $at AND $at < e.expiry_date", {"at": at}).fetchall()[0][0]
    terms = {r[0]: scenario_terms(r[1]) for r in con.execute("SELECT scenario, text FROM royalty_scenarios").fetchall()} \
        if "royalty_scenarios" in have else {}
    b3 = fee_block(fee, int(n_live), st, at.year, terms, run("findings_fee_burden_years", {}))
    return {"at": at.isoformat(), "min_families": st.min_families, "blocks": [b1, b2, b3]}


def as_text(f: dict[str, Any]) -> str:
    lines = [f"Findings at {f['at']} (verdicts need at least {f['min_families']} families; docs/findings.md)"]
    for b in f["blocks"]:
        lines += ["", b["question"], f"  -> {b['verdict']}"]
        for n in b["numbers"]:
            lines.append(f"     {n['name']}: {n['display']}   [query {n['query']}"
                         + (" " + " ".join(f"{k}={v}" for k, v in n["params"].items()) if n["params"] else "") + "]")
        for k, v in b["unknown"].items():
            lines.append(f"     unknown: {k}: {v}")
        for a in b["assumptions"]:
            lines.append(f"     assumption: {a}")
    return "\n".join(lines)
