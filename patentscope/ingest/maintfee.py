"""Ingest of the USPTO maintenance-fee events file (ODP product PTMNFEE2) into ``legal_events``.

Input: the weekly archive (``MaintFeeEvents_YYYYMMDD.zip`` holding ``MaintFeeEvents_*.txt`` and,
when present, ``MaintFeeEventsDesc_*.txt``) or the ``.txt`` itself. The file is cumulative, so
each load replaces every ``maintfee`` row; loading the same file twice changes nothing (its
SHA-256 is the cursor), and a kill leaves the previous week's rows in place.

The column layout is detected on the first lines (:func:`patentscope.normalize.maintfee.detect_layout`)
and the file is then cut in DuckDB (``substr`` per field), so the ~20 million lines load at
DuckDB speed. Lines the layout does not read go to ``quarantine`` with their line number.

By default only events of US patents already in the warehouse are kept (run it after ``ingest
bulk``); ``all_patents=True`` keeps every event. Effects follow the ``legal_events.effect``
vocabulary: fee payments ``fee_paid``, ``EXP.`` ``lapse``, ``EXPX`` ``reinstatement``, others
``other``; ``event_code`` is always the USPTO code.
"""

from __future__ import annotations

import io
import re
import zipfile
from contextlib import closing, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import ConfigError, InputError
from ..normalize import maintfee as mf
from ..warehouse.connection import register
from ..warehouse.save import now, read_cursor, write_cursor
from ..warehouse.toolkit import recorded_run, transaction, writer
from . import IngestResult, Log
from .registry import Option
from .us_bulk import ZipPipe, sha256_file

if TYPE_CHECKING:
    from ..jobs import Job, StepResult

SOURCE = "maintfee"
SAMPLE_LINES = 500
QUARANTINE_CAP = 1000


def _members(path: Path) -> tuple[str | None, str | None]:
    """(events member, descriptions member) of an archive; (None, None) for a plain text file."""
    if path.suffix.lower() != ".zip":
        return None, None
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(f"{path}: not a readable zip archive ({e})") from None
    events = [n for n in names if re.search(r"MaintFeeEvents_\d{8}\.txt$", n, re.I)]
    if not events:
        events = [n for n in names if n.lower().endswith(".txt") and "desc" not in n.lower()]
    if len(events) != 1:
        raise InputError(f"{path}: expected one MaintFeeEvents_YYYYMMDD.txt in the archive, found {names[:6]}")
    desc = [n for n in names if re.search(r"MaintFeeEventsDesc", n, re.I)]
    return events[0], desc[0] if desc else None


def _head(path: Path, member: str | None, n: int) -> list[str]:
    with (zipfile.ZipFile(path).open(member) if member else open(path, "rb")) as raw:
        text = io.TextIOWrapper(raw, encoding="latin-1", newline="")
        return [line for _, line in zip(range(n), text, strict=False)]


def _locate(path: Path, member: str | None, bad_lines: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    with (zipfile.ZipFile(path).open(member) if member else open(path, "rb")) as raw:
        for i, line in enumerate(io.TextIOWrapper(raw, encoding="latin-1", newline=""), start=1):
            key = line.rstrip("\r\n")
            if key in bad_lines and key not in found:
                found[key] = i
                if len(found) == len(bad_lines):
                    break
    return found


def _fields_sql(layout: mf.Layout) -> str:
    def cut(name: str) -> str:
        a, b = layout.span(name)
        return f"substr(line, {a}, {b - a + 1})"
    return f"""
        {cut('patent')} AS patent_raw, {cut('application')} AS application, {cut('entity')} AS entity,
        try_strptime({cut('filing_date')}, '%Y%m%d')::DATE AS filing_date,
        try_strptime({cut('grant_date')}, '%Y%m%d')::DATE AS grant_date,
        try_strptime({cut('event_date')}, '%Y%m%d')::DATE AS event_date,
        rtrim({cut('event_code')}) AS event_code"""


def ingest_maintfee(
    warehouse: Path,
    path: Path,
    *,
    command: str,
    all_patents: bool = False,
    raw_dir: Path | None = None,
    force: bool = False,
    log: Log = lambda _m: None,
) -> IngestResult:
    """Replace the warehouse's maintenance-fee events with those of ``path``."""
    if not path.is_file():
        raise InputError(f"{path}: no such file (give the PTMNFEE2 zip or its MaintFeeEvents_YYYYMMDD.txt)")
    member, desc_member = _members(path)
    name = member or path.name
    sha = sha256_file(path, raw_dir / SOURCE / "hash-cache.json" if raw_dir else None)
    layout = mf.detect_layout(_head(path, member, SAMPLE_LINES), file=f"{path.name}:{member}" if member else str(path))
    descriptions: dict[str, str] = {}
    if desc_member:
        with zipfile.ZipFile(path) as z:
            descriptions = mf.parse_descriptions(z.read(desc_member).decode("latin-1"))
    file_date = mf.file_date(name)
    log(f"{path.name}: layout {layout.name}, file date {file_date or 'unknown'}"
        + (f", {len(descriptions)} code descriptions" if descriptions else ""))
    with writer(warehouse, log=log) as con:
        prev_cur: dict[str, Any] = read_cursor(con, SOURCE) or {}
        if not force and prev_cur.get("sha256") == sha and prev_cur.get("all_patents") == all_patents:
            log(f"{path.name} is already loaded; nothing to do (use --force to reload)")
            return IngestResult(0, 0, {}, [])
        if prev_cur.get("file_date") and file_date and file_date.isoformat() < prev_cur["file_date"] and not force:
            raise InputError(f"{path.name} (week of {file_date}) is older than the loaded file "
                             f"({prev_cur['file_date']}); the file is cumulative, so loading it would drop events. "
                             "Use --force if that is what you want")
        pipe = ZipPipe(path, member) if member else None
        src = pipe.fifo if pipe else str(path)
        with recorded_run(con, SOURCE, command) as run, closing(pipe) if pipe else nullcontext():
            run_id = run.run_id
            con.execute("SET enable_progress_bar = false").fetchall()
            scan = (f"read_csv('{src.replace(chr(39), chr(39) * 2)}', columns={{'line': 'VARCHAR'}}, header=false, "
                    f"delim='{chr(1)}', quote='', escape='', auto_detect=false, strict_mode=false)")
            con.execute(f"""CREATE TEMP TABLE s_fee AS
                SELECT line, {_fields_sql(layout)} FROM {scan} WHERE trim(line) <> ''""").fetchall()
            if pipe:
                pipe.close()
                pipe.check()
            valid = ("regexp_full_match(ltrim(patent_raw), '0*[A-Z]{0,2}0*[0-9]+') AND regexp_full_match(application, '[0-9]{8}') "
                     "AND entity IN ('N', 'Y', 'M') AND filing_date IS NOT NULL AND grant_date IS NOT NULL "
                     "AND event_date IS NOT NULL AND regexp_full_match(event_code, '[A-Z0-9][A-Z0-9./_-]{1,4}')")
            n_lines, n_bad = con.execute(f"SELECT count(*), count(*) FILTER (WHERE NOT ({valid})) FROM s_fee").fetchall()[0]
            bad = [r[0] for r in con.execute(f"SELECT line FROM s_fee WHERE NOT ({valid}) LIMIT {QUARANTINE_CAP}").fetchall()]
            keep = "" if all_patents else "AND pub_key IN (SELECT pub_key FROM publications WHERE country = 'US')"
            con.execute(f"""CREATE TEMP TABLE w_fee AS
                SELECT DISTINCT ON (pub_key, event_date, event_code) pub_key, event_date, event_code
                FROM (SELECT 'US-' || regexp_replace(ltrim(patent_raw), '^0*([A-Z]{{0,2}})0*', '\\1') AS pub_key, event_date, event_code
                      FROM s_fee WHERE {valid})
                WHERE true {keep}
                ORDER BY pub_key, event_date, event_code""").fetchall()
            codes = [r[0] for r in con.execute("SELECT DISTINCT event_code FROM w_fee").fetchall()]
            code_frame = pl.DataFrame({"event_code": codes, "description": [mf.describe_code(c, descriptions) for c in codes],
                                       "effect": [mf.effect_of(c) for c in codes]},
                                      schema={"event_code": pl.Utf8, "description": pl.Utf8, "effect": pl.Utf8})
            located = _locate(path, member, set(bad)) if bad else {}
            quarantine = [{"line": located.get(b, 0), "reason": f"not readable in layout {layout.name}: "
                           + ", ".join(mf.line_problems(b, layout)), "raw": b} for b in bad]
            cursor = {"file": name, "file_date": file_date.isoformat() if file_date else None, "sha256": sha,
                      "layout": layout.name, "lines": n_lines, "rejected": n_bad, "all_patents": all_patents}
            register(con, "_codes", code_frame)
            try:
                with transaction(con):
                    # w_fee is unique on the key of legal_events by construction (DISTINCT ON its
                    # varying part): no require_keys pass over millions of rows
                    con.execute("DELETE FROM legal_events WHERE source = $s", {"s": SOURCE}).fetchall()
                    con.execute(f"""INSERT INTO legal_events (pub_key, jurisdiction, event_date, event_code, description, effect, source)
                        SELECT w.pub_key, 'US', w.event_date, w.event_code, c.description, c.effect, '{SOURCE}'
                        FROM w_fee w JOIN _codes c USING (event_code)""").fetchall()
                    for q in quarantine:
                        con.execute("INSERT INTO quarantine VALUES ($r, $s, $f, $l, NULL, $reason, $raw)",
                                    {"r": run_id, "s": SOURCE, "f": name, "l": q["line"], "reason": q["reason"],
                                     "raw": q["raw"]}).fetchall()
                    con.execute("INSERT INTO raw_landing VALUES ($sha, $s, $req, $t, $ct, $n, $p, $r) "
                                "ON CONFLICT (payload_sha256) DO NOTHING",
                                {"sha": sha, "s": SOURCE, "req": str(path), "t": now(),
                                 "ct": "application/zip" if member else "text/plain", "n": path.stat().st_size,
                                 "p": str(path), "r": run_id}).fetchall()
                    write_cursor(con, SOURCE, cursor, run_id)
                    kept = con.execute("SELECT count(*) FROM w_fee").fetchall()[0][0]
                    effects = dict(con.execute("SELECT effect, count(*) FROM w_fee JOIN _codes USING (event_code) GROUP BY ALL").fetchall())
            finally:
                con.unregister("_codes")
            run.read, run.loaded, run.rejected = n_lines, kept, n_bad
            run.message = f"{n_bad} unreadable line(s) quarantined (first {QUARANTINE_CAP} stored)" if n_bad else None
    log(f"{n_lines:,} lines read, {kept:,} events kept"
        + ("" if all_patents else " (patents in the warehouse only; --all keeps every patent)")
        + f": {', '.join(f'{k} {v:,}' for k, v in sorted(effects.items()))}"
        + (f"; {n_bad} unreadable line(s) quarantined" if n_bad else ""))
    return IngestResult(run_id, n_lines, {"legal_events": kept, **{f"effect:{k}": v for k, v in effects.items()}}, [])


# ------------------------------------------------------------------------------------------------
# as a source of `ingest --all` (patentscope/ingest/registry.py)

OPTIONS: dict[str, Option] = {
    "file": Option("str", None, help="MaintFeeEvents zip or txt, or a glob (the last match in name order is used)"),
    "all_patents": Option("bool", False),
}


def check(opts: dict[str, Any], where: str) -> None:
    if not opts["file"]:
        raise ConfigError(f"{where}: give file = \"path/MaintFeeEvents_*.zip\" (a file or a glob)")

def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    found = [p for p in job.expand(opts["file"]) if p.is_file()]
    if not found:
        raise InputError(f"[sources.maintfee] file = {opts['file']!r}: no file matches")
    path = found[-1]
    out = ingest_maintfee(job.warehouse, path, command=job.cmd("maintfee", str(path)),
                          all_patents=opts["all_patents"], raw_dir=job.raw_dir, log=job.log.ingestor("maintfee"))
    if out.run_id == 0:
        res.status = "skipped"
        res.notes.append(f"{path.name} already loaded")
        return
    res.add(out)
    res.notes.append(path.name)
