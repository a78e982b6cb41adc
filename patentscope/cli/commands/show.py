"""``patentscope show NUMBER``: one publication's whole record (text, ``--json`` or ``--html FILE``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from ..output import _json_default

_SHOWN_FIELDS = ("title", "abstract", "application_number", "priority_date", "filing_date", "publication_date",
                 "grant_date", "kind", "original_assignee", "current_assignee", "applicant", "inventor",
                 "status_as_shown", "expiry_as_shown")


def _short(v: Any, n: int = 110) -> str:
    s = "" if v is None else " ".join(str(v).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _lines(rec: dict[str, Any]) -> list[str]:
    out: list[str] = []
    add = out.append
    pub = rec["publication"]
    add(f"{rec['pub_number']}  {_short(rec['title'])}")
    add(f"family {pub.get('family_id') or 'unknown'}   office {pub.get('country')}   kind {pub.get('kind') or '?'}   "
        f"in landscape: {pub.get('in_landscape')}")
    add("")
    add("Bibliographic data (value [source record]; ! = the sources disagree)")
    fields = {f["field"]: f for f in rec["fields"]}
    for name in [*_SHOWN_FIELDS, *(f for f in fields if f not in _SHOWN_FIELDS)]:
        f = fields.get(name)
        if f is None:
            continue
        srcs = ", ".join(dict.fromkeys(f"{v['source']}:{v['source_record']}" if v.get("source_record") else v["source"]
                                       for v in f["values"]))
        add(f"  {'!' if f['disagreement'] else ' '} {name:<30} {_short(f['value'], 70)}  [{srcs}]")
        if f["disagreement"]:
            for v in f["values"]:
                add(f"      {'*' if v['chosen'] else '-'} {_short(v['value'], 70)}  [{v['source']} {v.get('source_record') or ''}]")
    add("")
    add("Holders over time")
    if not rec["holders"]:
        add("  none resolved" + (f" (analyze ran {rec['analyzed_at']:%Y-%m-%d %H:%M} UTC; no holder name on this record)"
                                 if rec["analyzed_at"] else " (run `patentscope analyze` to build the holder tables)"))
    for h in rec["holders"]:
        span = f"{h['valid_from'] or '…'} – {h['valid_to'] or 'today'}"
        add(f"  {h['holder_role']:<18} {_short(h['part_as_written'], 40):<40} {span:<25} group {h['group_name']}"
            f"{'' if h['lineage_confirmed'] else ' [unconfirmed]'}")
    for c in rec.get("holder_chain", []):
        if c["source"] != "record" or c["flag"]:
            span = f"{c['valid_from'] or '…'} – {c['valid_to'] or 'today'}"
            add(f"  link {c['seq']}: {_short(c['name_as_written'], 40)} {span} [{c['date_basis']}; {c['source']}]"
                + ("" if c["counted"] else " NOT COUNTED") + (f" ! {c['flag']}" if c["flag"] else ""))
    events = sorted(rec.get("ownership_events", []), key=lambda e: (e["effective_date"] or dt.date.max, e["reel_frame"]))
    if events:
        add("  Recorded assignments (USPTO; * = moves ownership)")
    for e in events:
        add(f"  {'*' if e['moves_ownership'] else ' '} {e['effective_date'] or 'undated'} ({e['date_basis']}) "
            f"reel/frame {e['reel_frame']} {e['conveyance_class']}: {_short('; '.join(e['assignors'] or []), 40)} -> "
            f"{_short('; '.join(e['assignees'] or []), 40)} [{e['source']} {e['source_record']}]")
    for ln in rec["lineage"]:
        if ln["names"] or ln["steps"]:
            add(f"  lineage of {ln['name']}: {' → '.join(ln['names'])}; group today: {ln.get('group_today')}")
            for s in ln["steps"]:
                add(f"    {s}")
    add("")
    fam = rec["family"]
    add(f"Family {fam['family_id'] or 'unknown'} ({fam['family_id_source'] or 'no source'}): {len(fam['members'])} other member(s)")
    for m in fam["members"]:
        add(f"  {m['pub_number']:<20} {m['publication_date'] or '':<10}  {_short(m['title'], 70)}")
    for r in fam["related"]:
        add(f"  related ({r['relation']}): {r['related_as_written']}")
    for c in fam["priority_claims"]:
        add(f"  priority: {c['claim_as_written']} ({c['priority_date'] or 'date unknown'})")
    add("")
    add("Classification")
    if not rec["classifications"]:
        add("  no CPC/IPC code recorded for it")
    for c in rec["classifications"]:
        add(f"  {c['scheme']:<5} {c['symbol']}")
    for s in rec["segments"]:
        prob = f" p={s['probability']:.2f}" if s["probability"] is not None else ""
        add(f"  segment: {s['segment']} (decided by {s['decided_by']}{prob}; {_short(s['evidence'], 60)})")
    add("")
    cites, cited_by = rec["citations"]["cites"], rec["citations"]["cited_by"]
    add(f"Citations: cites {len(cites)}, cited by {len(cited_by)} in the warehouse")
    for c in cites:
        where = c["cited_pub_number"] or "not in the warehouse"
        add(f"  → {c['cited_as_written']:<24} {where:<22} status {c['status'] or 'unknown'}")
    for c in cited_by:
        add(f"  ← {c['citing_pub_number']:<24} status {c['status'] or 'unknown':<12} {_short(c['title'], 50)}")
    add("")
    add("Expiry")
    if not rec["expiry"]:
        add("  not computed" + (f" (analyze ran {rec['analyzed_at']:%Y-%m-%d %H:%M} UTC; no term rule applies to it)"
                                if rec["analyzed_at"] else " (run `patentscope analyze`)"))
    for e in rec["expiry"]:
        lo, hi = e.get("expiry_earliest"), e.get("expiry_latest")
        if lo is not None or hi is not None:
            when = f"between {lo or 'unknown'} and {hi or 'unknown'}"
        elif e.get("expiry_date") is None:
            when = "unknown (see the log)"
        else:
            when = f"{e['expiry_date']}{' at the latest' if e.get('expiry_is_upper_bound') else ''}"
        add(f"  {e['jurisdiction']}: expires {when} ({e.get('end_reason') or 'no end reason'}); status {e['status']} "
            f"at {e['status_date']} — {_short(e.get('status_reason'), 80)}")
        if e.get("evidence"):
            add(f"    evidence: {_short(e['evidence'], 200)}")
        for line in e.get("calculation_log") or []:
            add(f"    {line}")
    for ev in rec["legal_events"]:
        add(f"  legal event {ev['event_date']} {ev['event_code']}: {_short(ev['description'], 70)} ({ev['effect']})")
    add("")
    add("Licences and litigation naming it")
    if not rec["facts"] and not rec["litigation_as_shown"]:
        add("  none in the warehouse")
    for f in rec["facts"]:
        add(f"  [{f['kind']}] {f['fact_id']} {f['date_of_statement']}: {_short(f['statement'], 90)}")
        add(f"      source: {f['source_url']}" + (f"  (warning: {f['source_warning']})" if f["source_warning"] else ""))
    for v in rec["litigation_as_shown"]:
        add(f"  [litigation as shown] {_short(v['value'], 100)}")
    add("")
    add("Links")
    for ln in rec["links"]:
        add(f"  {ln['label']}: {ln['url']}" + (f"\n    warning: {ln['warning']}" if ln["warning"] else ""))
    return out


def write_html(rec: dict[str, Any], out: Path) -> None:
    from ...report import render_record_page

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(render_record_page(rec), encoding="utf-8")
    tmp.replace(out)


def register(main: click.Group) -> None:
    @main.command("show")
    @click.argument("number")
    @click.option("--json", "as_json", is_flag=True, help="Print the record as one JSON object.")
    @click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Also write the record as a self-contained HTML page to FILE.")
    @click.pass_obj
    def show(obj: Any, number: str, as_json: bool, html_out: Path | None) -> None:
        """One publication's whole record: bibliographic data with each field's sources and
        disagreements, holders over time with the lineage chain, family, CPC and segment,
        citations both ways with their status, expiry with its log, licences and litigation
        facts naming it, and links to its canonical public pages (the transcribed page is
        kept as "source", with a warning when its host is not an office or a known patent service).

        NUMBER may be written US4770723A, US-4770723 or "US 4,770,723". Read-only.

        \b
        Examples:
          patentscope show US4770723A
          patentscope show EP1005050A3 --json
          patentscope show US4770723A --html us4770723.html
        """
        from ...record import build_record
        from ...warehouse.connection import reader
        from .expiry import find_publication

        with reader(obj.settings.warehouse) as con:
            key = find_publication(con, number)
            rec = build_record(con, key)
        if html_out is not None:
            write_html(rec, html_out)
            obj.log(f"wrote {html_out}")
        if as_json:
            click.echo(json.dumps(rec, default=_json_default, ensure_ascii=False, indent=1))
        elif html_out is None:
            click.echo("\n".join(_lines(rec)))
