"""A local stand-in for ``patents-public-data.patents.publications``: its nested schema, the
embedded real sample mapped to that shape plus SYNTHETIC neighbours, and a runner of the
builder's script on DuckDB (via sqlglot). Used by the tests, the emulator test and the
benchmark; also what a user hosting an export of the table would run the script on.

The schema is the one of the public table (BigQuery JSON schema form, as ``bq show --schema``
prints it): REPEATED RECORDs ``cpc``/``ipc`` {code, inventive, first, tree}, ``citation`` and
``priority_claim`` {publication_number, application_number, npl_text, type, category,
filing_date}, ``assignee_harmonized``/``inventor_harmonized`` {name, country_code},
``*_localized`` {text, language, truncated}; dates INT64 ``yyyymmdd`` with 0 for unknown.

Rows marked SYNTHETIC (title "SYNTHETIC ...", publication numbers in ranges no office has
used: US-99xxxxxx, and the office code ZZ) exist only to exercise the script's edge cases; the
others are the embedded sample's real records (patentscope/data/sample/PROVENANCE.md), with
what the sample does not show left empty (0, NULL or []), never invented.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb

from ..landscape import Landscape
from ..sources.bigquery_sql import Script

TABLE = '"patents-public-data".patents.publications'

_LOCALIZED = {"type": "RECORD", "mode": "REPEATED", "fields": [
    {"name": "text", "type": "STRING"}, {"name": "language", "type": "STRING"}, {"name": "truncated", "type": "BOOLEAN"}]}
_CLASS = {"type": "RECORD", "mode": "REPEATED", "fields": [
    {"name": "code", "type": "STRING"}, {"name": "inventive", "type": "BOOLEAN"}, {"name": "first", "type": "BOOLEAN"},
    {"name": "tree", "type": "STRING", "mode": "REPEATED"}]}
_CITE = {"type": "RECORD", "mode": "REPEATED", "fields": [
    {"name": "publication_number", "type": "STRING"}, {"name": "application_number", "type": "STRING"},
    {"name": "npl_text", "type": "STRING"}, {"name": "type", "type": "STRING"}, {"name": "category", "type": "STRING"},
    {"name": "filing_date", "type": "INTEGER"}]}
_PARTY = {"type": "RECORD", "mode": "REPEATED", "fields": [
    {"name": "name", "type": "STRING"}, {"name": "country_code", "type": "STRING"}]}


def _f(name: str, typ: str = "STRING", mode: str = "NULLABLE") -> dict[str, Any]:
    return {"name": name, "type": typ, "mode": mode}


PUBLICATIONS_SCHEMA: list[dict[str, Any]] = [
    _f("publication_number"), _f("application_number"), _f("country_code"), _f("kind_code"), _f("application_kind"),
    _f("application_number_formatted"), _f("pct_number"), _f("family_id"), _f("spif_publication_number"),
    _f("spif_application_number"),
    {"name": "title_localized", **_LOCALIZED}, {"name": "abstract_localized", **_LOCALIZED},
    {"name": "claims_localized", **_LOCALIZED}, {"name": "description_localized", **_LOCALIZED},
    _f("publication_date", "INTEGER"), _f("filing_date", "INTEGER"), _f("grant_date", "INTEGER"),
    _f("priority_date", "INTEGER"), {"name": "priority_claim", **_CITE},
    _f("inventor", mode="REPEATED"), {"name": "inventor_harmonized", **_PARTY},
    _f("assignee", mode="REPEATED"), {"name": "assignee_harmonized", **_PARTY},
    _f("examiner", mode="REPEATED"), {"name": "ipc", **_CLASS}, {"name": "cpc", **_CLASS},
    {"name": "citation", **_CITE}, _f("entity_status"), _f("art_unit"),
]

_DUCK = {"STRING": "VARCHAR", "INTEGER": "BIGINT", "BOOLEAN": "BOOLEAN"}


def duckdb_type(field: dict[str, Any]) -> str:
    if field["type"] == "RECORD":
        inner = "STRUCT(" + ", ".join(f'"{f["name"]}" {duckdb_type(f)}' for f in field["fields"]) + ")"
    else:
        inner = _DUCK[field["type"]]
    return inner + "[]" if field.get("mode") == "REPEATED" else inner


def create_publications_table(con: duckdb.DuckDBPyConnection) -> None:
    """``"patents-public-data".patents.publications`` in DuckDB, typed like the BigQuery table."""
    con.execute("ATTACH ':memory:' AS \"patents-public-data\"")
    con.execute('CREATE SCHEMA "patents-public-data".patents')
    cols = ", ".join(f'"{f["name"]}" {duckdb_type(f)}' for f in PUBLICATIONS_SCHEMA)
    con.execute(f"CREATE TABLE {TABLE} ({cols})")


def empty_row(publication_number: str, country: str, kind: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for f in PUBLICATIONS_SCHEMA:
        row[f["name"]] = [] if f.get("mode") == "REPEATED" else (0 if f["type"] == "INTEGER" else None)
    row.update(publication_number=publication_number, country_code=country, kind_code=kind or "")
    return row


def _ymd(d: dt.date | None) -> int:
    return d.year * 10000 + d.month * 100 + d.day if d else 0


def _loc(text: str | None) -> list[dict[str, Any]]:
    return [{"text": text, "language": "en", "truncated": False}] if text else []


def sample_rows(landscape: Landscape) -> list[dict[str, Any]]:
    """The embedded sample's records in the shape of the public table (real; see module doc)."""
    from ..ingest.sample import sample_folder
    from ..normalize import web_records

    batch = web_records.load_folder(sample_folder(), landscape)
    number = {p["pub_key"]: (f"{p['pub_key']}-{p['kind']}" if p["kind"] else p["pub_key"]) for p in batch.publications}
    rows: dict[str, dict[str, Any]] = {}
    for p in batch.publications:
        r = empty_row(number[p["pub_key"]], p["country"], p["kind"])
        r.update(application_number=p["application_number"],
                 family_id=p["family_id"] if p["family_id_source"] != "publication" else None,
                 title_localized=_loc(p["title"]), abstract_localized=_loc(p["abstract"]),
                 publication_date=_ymd(p["publication_date"]), filing_date=_ymd(p["filing_date"]),
                 grant_date=_ymd(p["grant_date"]), priority_date=_ymd(p["priority_date"]))
        rows[p["pub_key"]] = r
    for c in batch.classifications:
        if c["scheme"] == "CPC":
            rows[c["pub_key"]]["cpc"].append({"code": c["symbol"], "inventive": None, "first": c["position"] == 1, "tree": []})
    roles: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for pa in sorted(batch.parties, key=lambda x: (x["pub_key"], x["role"], x["seq"])):
        roles.setdefault(pa["pub_key"], {}).setdefault(pa["role"], []).append(
            {"name": pa["name_as_written"], "country_code": pa["country"]})
    for key, by_role in roles.items():
        rows[key]["assignee_harmonized"] = by_role.get("original_assignee") or by_role.get("applicant") or []
        rows[key]["inventor_harmonized"] = by_role.get("inventor", [])
    for pc in batch.priority_claims:
        app = f"{pc['priority_country']}-{pc['priority_number']}" if pc["priority_country"] and pc["priority_number"] else ""
        rows[pc["pub_key"]]["priority_claim"].append({"publication_number": "", "application_number": app, "npl_text": "",
                                                      "type": "", "category": "", "filing_date": _ymd(pc["priority_date"])})
    for c in batch.citations:
        if c["citing_pub_key"] not in rows:
            continue
        cited = number.get(c["cited_pub_key"], c["cited_pub_key"]) if c["cited_pub_key"] else ""
        rows[c["citing_pub_key"]]["citation"].append({
            "publication_number": cited, "application_number": "", "npl_text": "" if cited else c["cited_as_written"],
            "type": "", "category": c["category"] or "", "filing_date": 0})
    return list(rows.values())


def _syn(number: str, country: str, kind: str, *, title: str, family: str | None, pub: int, prio: int = 0,
         cpc: tuple[str, ...] = (), abstract: str | None = None, cites: tuple[str, ...] = (),
         assignees: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    r = empty_row(number, country, kind)
    r.update(family_id=family, publication_date=pub, priority_date=prio, filing_date=prio,
             title_localized=_loc(f"SYNTHETIC {title}"), abstract_localized=_loc(abstract),
             cpc=[{"code": c, "inventive": True, "first": i == 0, "tree": []} for i, c in enumerate(cpc)],
             assignee_harmonized=[{"name": n, "country_code": cc} for n, cc in assignees],
             citation=[{"publication_number": n, "application_number": "", "npl_text": "", "type": "SEA",
                        "category": "X", "filing_date": 0} for n in cites])
    return r


def synthetic_neighbours(anchor: str) -> list[dict[str, Any]]:
    """SYNTHETIC rows around one real member ``anchor`` (a publication number of the sample):
    a member and its non-member family sibling, citers and cited ones, a two-hop citer that must
    stay out, and near misses of every rule (office, date, prefix, word boundary)."""
    F = "SYN-FAM-1"
    return [
        _syn("US-99000001-B2", "US", "B2", title="core CPC member", family=F, pub=20200107, prio=20180101,
             cpc=("H01F1/0577", "B22F3/24"), cites=(anchor, "US-99000010-A"), assignees=(("SYNTHETIC MAGNET KK", "JP"),)),
        _syn("JP-99000002-A", "JP", "A", title="family sibling without a landscape code", family=F, pub=20190705,
             prio=20180101, cpc=("C22C33/04",), assignees=(("SYNTHETIC MAGNET KK", "JP"),)),
        _syn("US-99000003-A", "US", "A", title="forward citer", family="SYN-FAM-3", pub=20220301, prio=20210101,
             cpc=("H02K1/27",), cites=("JP-99000002-A", "US-99000004-A")),
        _syn("US-99000004-A", "US", "A", title="cited only by a non-member (two hops: must stay out)", family="SYN-FAM-4",
             pub=20100101, prio=20090101, cpc=("H02K15/03",)),
        _syn("US-99000005-A", "US", "A", title="two-hop citer (must stay out)", family="SYN-FAM-5", pub=20230101,
             prio=20220101, cites=("US-99000003-A",)),
        _syn("US-99000010-A", "US", "A", title="cited by a member", family="SYN-FAM-10", pub=20150101, prio=20140101,
             cpc=("B22F9/04",)),
        _syn("EP-99000011-A1", "EP", "A1", title="family sibling of a cited publication", family="SYN-FAM-10",
             pub=20150601, prio=20140101, assignees=(("SYNTHETIC ALLOYS GMBH", "DE"),)),
        _syn("US-99000020-A", "US", "A", title="context code with weak keyword: a sintered magnet", family="SYN-FAM-20",
             pub=20160101, prio=20150101, cpc=("B22F3/16",)),
        _syn("US-99000021-A", "US", "A", title="context code without keyword", family="SYN-FAM-21", pub=20160101,
             prio=20150101, cpc=("B22F3/16",)),
        _syn("US-99000022-A", "US", "A", title="strong keyword in the abstract only", family="SYN-FAM-22", pub=20170101,
             prio=20160101, abstract="A method of making Nd-Fe-B powder."),
        _syn("US-99000023-A", "US", "A", title="NdFeBased is not a keyword; B22F30 is not B22F3", family="SYN-FAM-23",
             pub=20170101, prio=20160101, cpc=("B22F30/00",), abstract="NdFeBased alloys and sintered magnets."),
        _syn("ZZ-99000024-A", "ZZ", "A", title="core CPC in an office outside the landscape", family="SYN-FAM-24",
             pub=20170101, prio=20160101, cpc=("H01F1/0577",)),
        _syn("US-99000025-A", "US", "A", title="core CPC with a priority before the landscape's dates", family="SYN-FAM-25",
             pub=19790101, prio=19780101, cpc=("H01F1/0577",)),
        _syn("US-99000026-A", "US", "A", title="unrelated", family="SYN-FAM-26", pub=20170101, prio=20160101,
             cpc=("A01B1/00",)),
    ]


def fixture_rows(landscape: Landscape) -> list[dict[str, Any]]:
    """The sample (real) plus the SYNTHETIC neighbours of its first CPC member."""
    rows = sample_rows(landscape)
    anchor = next(r["publication_number"] for r in rows
                  if any(c["code"].startswith("H01F1/057") for c in r["cpc"]) and r["kind_code"])
    return rows + synthetic_neighbours(anchor)


def load_rows(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    schema = pa.schema([pa.field(f["name"], _arrow_type(f)) for f in PUBLICATIONS_SCHEMA])
    table = pa.Table.from_pylist(rows, schema=schema)
    con.register("_fixture", table)
    try:
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM _fixture")
    finally:
        con.unregister("_fixture")


def _arrow_type(field: dict[str, Any]) -> Any:
    import pyarrow as pa

    if field["type"] == "RECORD":
        t: Any = pa.struct([pa.field(f["name"], _arrow_type(f)) for f in field["fields"]])
    else:
        t = {"STRING": pa.string(), "INTEGER": pa.int64(), "BOOLEAN": pa.bool_()}[field["type"]]
    return pa.list_(t) if field.get("mode") == "REPEATED" else t


def run_on_duckdb(con: duckdb.DuckDBPyConnection, script: Script) -> None:
    """Run the builder's script on DuckDB: transpiled by sqlglot from GoogleSQL, statement by
    statement, with the same parameters bound. The scratch dataset becomes a DuckDB schema."""
    from ..sources.bigquery_sql import transpile

    schema = next(iter(script.tables.values())).strip("`").rsplit(".", 1)[0]
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    values = script.param_values()
    temps = re.findall(r"CREATE TEMP TABLE (\w+)", script.sql)
    try:
        for stmt in transpile(script, "duckdb"):
            used = {k: v for k, v in values.items() if f"${k}" in stmt}
            con.execute(stmt, used)
    finally:  # a BigQuery script's temporary tables end with it
        for t in temps:
            con.execute(f"DROP TABLE IF EXISTS temp.main.{t}")


def write_fixture_table(con: duckdb.DuckDBPyConnection, landscape: Landscape) -> int:
    create_publications_table(con)
    rows = fixture_rows(landscape)
    load_rows(con, rows)
    return len(rows)


def export_results(con: duckdb.DuckDBPyConnection, script: Script, out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write the script's result tables as BigQuery's extract would (``ps_<part>-000000000000``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for part, table in script.tables.items():
        name = table.strip("`").split(".")
        ref = ".".join(f'"{n}"' for n in name)
        ext = "parquet" if fmt == "parquet" else "json"
        path = out_dir / f"ps_{part}-000000000000.{ext}"
        opts = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT json)"
        con.execute(f"COPY (SELECT * FROM {ref}) TO '{path}' {opts}")
        paths.append(path)
    return paths
