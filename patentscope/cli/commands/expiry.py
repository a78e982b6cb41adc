"""``patentscope expiry NUMBER``: expected expiry, status and calculation log of one publication."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import click
import polars as pl

from ...errors import InputError
from ..output import _json_default


def _normalized(text: str) -> str:
    return re.sub(r"[\s,\-]", "", text).upper()


def find_publication(con: Any, text: str) -> str:
    """The pub_key a user means by ``text`` (US4770723A, US-4770723, "US 4,770,723"; a kind
    that differs from the stored one still finds the number). Raises InputError if none."""
    from ...normalize.numbers import parse_pub_number

    n = _normalized(text)
    rows = con.execute(
        "SELECT pub_key FROM publications WHERE replace(pub_number, '-', '') = $n OR replace(pub_key, '-', '') = $n "
        "ORDER BY pub_key", {"n": n}).fetchall()
    if not rows:
        parsed = parse_pub_number(text)
        if parsed is not None:
            rows = con.execute("SELECT pub_key FROM publications WHERE pub_key = $k", {"k": parsed.pub_key}).fetchall()
    if not rows:
        raise InputError(
            f"no publication matching {text!r} in the warehouse; give it as the office prints it (US4770723A, "
            "US-4770723, \"US 4,770,723\") or look it up with `patentscope sql \"SELECT pub_key FROM publications\"`"
        )
    if len(rows) > 1:
        raise InputError(f"{text!r} matches several publications ({', '.join(r[0] for r in rows)}); give the full number")
    return str(rows[0][0])


def _family_members(con: Any, pub_key: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT pub_key, country FROM publications WHERE family_id = (SELECT family_id FROM publications WHERE pub_key = $k) "
        "AND pub_key <> $k ORDER BY pub_key", {"k": pub_key}).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def interval_text(earliest: dt.date | None, latest: dt.date | None) -> str:
    """'2005-09-13', '2005-09-13 .. 2007-02-10' or 'at the latest 2007-02-10' ('unknown' without a latest)."""
    if latest is None:
        return "unknown"
    if earliest is None:
        return f"at the latest {latest}"
    return f"{earliest}" if earliest == latest else f"{earliest} .. {latest}"


def status_label(row: dict[str, Any]) -> str:
    """The status as shown to people: 'in force (fees not verified)' when it rests on assumed fees."""
    return "in force (fees not verified)" if row["status"] == "in force" and row.get("rests_on_fee_assumption") \
        else str(row["status"])


def _print_text(row: dict[str, Any]) -> None:
    if row["document_type"] in ("application", "international_application"):
        expiry = f"none: {row['document_type'].replace('_', ' ')}, not a patent"
        if row["term_expiry"]:
            expiry += f" (a patent on it would end {row['term_expiry']})"
    elif row["expiry_date"] is None:
        expiry = "unknown (see the log)"
    else:
        expiry = interval_text(row["expiry_earliest"], row["expiry_latest"])
        if row["expiry_earliest"] != row["expiry_latest"]:
            expiry += f"; headline {row['expiry_date']} ({row['headline_rule']})"
        expiry += f" ({row['end_reason']})"
    click.echo(f"{row['pub_number']}  jurisdiction {row['jurisdiction']}  family {row['family_id']}")
    click.echo(f"expected expiry: {expiry}")
    click.echo(f"rule: {row['rule'] or 'none'}")
    click.echo(f"status at {row['status_date']}: {status_label(row)} -- {row['status_reason']}")
    click.echo(f"evidence on record: {row.get('status_evidence') or 'none (no status shown by any source)'}")
    if row.get("status_conflict"):
        click.echo(f"CONFLICT: {row['status_conflict']}")
    for w in row.get("warnings") or []:
        click.echo(f"warning: {w}")
    click.echo("calculation log:")
    for line in row["calculation_log"]:
        click.echo(f"  {line}")


_CSV_COLUMNS = ("pub_key", "pub_number", "jurisdiction", "office", "family_id", "document_type", "rule", "expiry_date",
                "expiry_earliest", "expiry_latest", "headline_rule", "end_reason", "status", "status_label", "status_date",
                "status_basis", "status_reason", "rests_on_fee_assumption", "status_as_shown", "status_evidence",
                "status_conflict", "warnings", "flags", "missing")


def _csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV_COLUMNS)
    for r in rows:
        r = {**r, "status_label": status_label(r)}
        w.writerow(["; ".join(r[c] or []) if isinstance(r.get(c), list) or c in ("warnings", "flags", "missing")
                    else ("" if r.get(c) is None else r[c]) for c in _CSV_COLUMNS])
    return buf.getvalue()


def register(main: click.Group) -> None:
    @main.command("expiry")
    @click.argument("number")
    @click.option("--market", metavar="CC", default=None,
                  help="Jurisdiction to report on, e.g. DE for the German part of an EP patent (default: every row).")
    @click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Date of the status, YYYY-MM-DD [default: today].")
    @click.option("--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Term-rules TOML to use [default: the built-in patentscope/data/term_rules.toml].")
    @click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (every column, with the log).")
    @click.option("--csv", "as_csv", is_flag=True, help="Print the rows as CSV (one line per jurisdiction, no log).")
    @click.pass_obj
    def expiry(obj: Any, number: str, market: str | None, at: dt.datetime | None, rules_path: Path | None,
               as_json: bool, as_csv: bool) -> None:
        """Expected expiry, status at a date and the calculation log of one publication.

        Computed now from the warehouse and the term rules (docs/expiry.md); nothing is
        written. NUMBER may be written US4770723A, US-4770723 or "US 4,770,723". The expiry
        is shown as the legally possible interval ("2005-09-13 .. 2007-02-10", "at the latest
        2007-02-10") with the headline date and how it was chosen, then the status, the
        record's own status evidence and any conflict with it.

        \b
        Examples:
          patentscope expiry US4770723A
          patentscope expiry "US 4,770,723" --at 1995-06-08
          patentscope expiry EP1895551B1 --market DE --json
          patentscope expiry US5076861 --csv
        """
        if as_json and as_csv:
            raise click.UsageError("give --json or --csv, not both")
        from ...metrics.expiry import compute_expiry, load_inputs, public_columns
        from ...metrics.expiry.rules import load_rules
        from ...warehouse.connection import reader

        rules = load_rules(rules_path)
        today = dt.date.today()
        when = at.date() if at else today
        cc = market.strip().upper() if market else None
        if cc is not None and not re.fullmatch(r"[A-Z]{2}", cc):
            raise click.BadParameter(f"{market!r} is not a two-letter office or country code", param_hint="--market")
        with reader(obj.settings.warehouse) as con:
            key = find_publication(con, number)
            inp = load_inputs(con, [key])
            office = str(inp["publications"].filter(pl.col("pub_key") == key)["country"][0])
            if cc is not None and cc != office and office != "EP":
                others = [k for k, c in _family_members(con, key) if c == cc]
                hint = (f"; its family has {', '.join(others)} there: run `patentscope expiry {others[0]}`" if others
                        else "; the warehouse has no member of its family there")
                raise InputError(f"{key} is a {office} publication and has effect only in {office}, not {cc}{hint}")
        ex = compute_expiry(inp["publications"], inp["term_inputs"], inp["legal_events"], inp["priority_claims"],
                            at=when, today=today, rules=rules, markets=[cc] if cc else [],
                            status_evidence=inp.get("status_evidence"), reissue_of=inp.get("reissue_of"),
                            designations=inp.get("designations"))
        ex = ex.filter(pl.col("pub_key") == key)  # a reissue's original is read with it, not shown
        if cc is not None and cc != "EP" and ex.filter(pl.col("jurisdiction") == cc).height == 0:
            states = inp["designations"].filter(pl.col("pub_key") == key)["designated"].to_list()
            if states and states[0]:
                raise InputError(f"{key} does not designate {cc} (it designates {' '.join(states[0])}), so it has no "
                                 "effect there (EPC Art. 2(2), 64(1), 79(1))")
        if cc is not None:
            ex = ex.filter(pl.col("jurisdiction") == cc)
        rows = public_columns(ex).to_dicts()
        if as_json:
            click.echo(json.dumps([{**r, "status_label": status_label(r)} for r in rows], default=_json_default,
                                  ensure_ascii=False, indent=1))
            return
        if as_csv:
            click.echo(_csv(rows), nl=False)
            return
        for i, row in enumerate(rows):
            if i:
                click.echo("")
            _print_text(row)
