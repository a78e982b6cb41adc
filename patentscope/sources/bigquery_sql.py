"""The landscape compiled into one parameterised GoogleSQL script over Google's public patent data.

Pure: a :class:`~patentscope.landscape.Landscape` in, a :class:`Script` (SQL text plus the
query parameters to bind) out; no client, no network. The script runs over
``patents-public-data.patents.publications`` (Google Patents Public Data, CC BY 4.0) and
writes three result tables into a scratch dataset of the user's own project:

``ps_publications``
    one row per publication touched: every publication of a landscape family, and every
    publication at the other end of a citation edge (one hop), with its bibliographic data
    (numbers, kind, dates as INT64 ``yyyymmdd`` with 0 for unknown, DOCDB ``family_id``, CPC,
    harmonized assignees and inventors, priority claims), the title and abstract of the
    landscape members only, and flags telling why it is there.
``ps_citations``
    the citation edges, one hop in both directions: backward (every reference cited by a
    publication of a landscape family) and forward (every publication citing one).
``ps_families``
    one row per DOCDB family of a touched publication: earliest priority date, members,
    offices, harmonized assignees and whether any member is in the landscape.

What the script scans decides what it costs (BigQuery bills every column a statement reads,
whatever the WHERE clause keeps): the text columns ``title_localized``/``abstract_localized``
are read only when the landscape has keywords (``keywords=False`` leaves them out), by one
statement, and only the members keep their text. Values are never spliced into the SQL: CPC
prefixes, keyword patterns, dates, offices and the cursor are bound as query parameters. The
only names in the text are the source table and the scratch dataset, checked against
BigQuery's identifier rules.

The same text transpiles with sqlglot (``read="bigquery"``) to DuckDB or Spark SQL for users
who host an export of the table themselves (tests/test_bigquery_sql.py runs it on DuckDB).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..landscape import Landscape

SOURCE_TABLE = "patents-public-data.patents.publications"
DEFAULT_SCRATCH_DATASET = "patentscope_scratch"
TABLE_PREFIX = "ps_"
RESULT_TABLES = ("publications", "citations", "families")
SCRIPT_VERSION = 1
VAR_PREFIX = "ps_"          # DECLAREd variables of the console route: ps_since, ps_offices, ...

_PROJECT_RE = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")          # Google Cloud project ids
_DATASET_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,1023}")          # BigQuery dataset names
_RE2_SPECIAL = set("\\.^$|?*+()[]{}-")


@dataclass(frozen=True)
class Param:
    """One query parameter: name (``@name`` in the SQL), BigQuery type, value."""

    name: str
    type: str            # "STRING", "INT64", or "ARRAY<STRING>"
    value: Any

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "value": self.value}


@dataclass(frozen=True)
class Script:
    sql: str
    params: list[Param]
    tables: dict[str, str]                       # part -> table name as written in the SQL
    uses_text: bool
    statements: list[tuple[str, str]] = field(default_factory=list)   # (part, statement)

    @property
    def sha256(self) -> str:
        """The hash of the SQL text (the run records it; parameters are recorded beside it)."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    def param_values(self) -> dict[str, Any]:
        return {p.name: p.value for p in self.params}


def yyyymmdd(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def cpc_prefixes(codes: tuple[str, ...] | list[str]) -> list[str]:
    """Landscape codes -> string prefixes over Google's ``cpc.code`` (``H01F1/0577``).

    Same rule as :func:`patentscope.normalize.classifications.matches_code`: a code with a
    subgroup (``H01F1/057``) covers the symbols that start with it; a subclass (``H01F``)
    covers everything in it; a main group (``B22F3``) covers ``B22F3/...`` only, not ``B22F30``.
    """
    out: list[str] = []
    for c in codes:
        p = c if "/" in c or len(c) == 4 else c + "/"
        if p not in out:
            out.append(p)
    return out


def _re2_escape(word: str) -> str:
    return "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in word)


def keyword_regex(words: tuple[str, ...] | list[str]) -> str:
    """An RE2 pattern (BigQuery ``REGEXP_CONTAINS``, DuckDB ``regexp_matches``) for whole-word,
    case-insensitive matches: the same rule as :class:`Landscape` (not preceded by a word
    character or a hyphen, not followed by a word character); RE2 has no look-behind, so the
    boundaries are matched as characters."""
    alts = "|".join(_re2_escape(w) for w in sorted(words, key=len, reverse=True))
    return rf"(?i)(?:^|[^\w-])(?:{alts})(?:$|[^\w])"


def scratch_name(dataset: str) -> str:
    """``dataset`` or ``project.dataset`` checked, as written in the SQL (backquoted)."""
    parts = dataset.split(".")
    if len(parts) == 1 and _DATASET_RE.fullmatch(parts[0]):
        return f"`{parts[0]}`"
    if len(parts) == 2 and _PROJECT_RE.fullmatch(parts[0]) and _DATASET_RE.fullmatch(parts[1]):
        return f"`{parts[0]}.{parts[1]}`"
    raise ConfigError(f"[sources.bigquery] scratch_dataset = {dataset!r}: give a dataset name (letters, digits, "
                      "underscores) or project-id.dataset")


def result_table(dataset: str, part: str) -> str:
    """The table id (``project.dataset.ps_part`` or ``dataset.ps_part``) a client reads."""
    return f"{scratch_name(dataset).strip('`')}.{TABLE_PREFIX}{part}"


# ------------------------------------------------------------------------------------------------
# the script


def _text_any(column: str, param: str) -> str:
    return f"EXISTS (SELECT 1 FROM UNNEST(p.{column}) AS t WHERE REGEXP_CONTAINS(t.text, @{param}))"


def _cpc_any(param: str) -> str:
    return ("EXISTS (SELECT 1 FROM UNNEST(p.cpc) AS c CROSS JOIN UNNEST(@" + param + ") AS pre "
            "WHERE STARTS_WITH(c.code, pre))")


def _pick_text(column: str) -> str:
    """The English text of a localized column, else the first language in name order."""
    return (f"(SELECT t.text FROM UNNEST(p.{column}) AS t ORDER BY t.language = 'en' DESC, t.language LIMIT 1)")


def _comment(text: str) -> str:
    """User text in a ``--`` comment: one line, printable characters only (no way out of it)."""
    return re.sub(r"[^\x20-\x7e]+", " ", text)[:200]


def build_script(
    landscape: Landscape,
    *,
    since: dt.date | None = None,
    scratch_dataset: str = DEFAULT_SCRATCH_DATASET,
    keywords: bool = True,
) -> Script:
    """Compile the landscape into the script (see the module docstring).

    ``since``: only publications published on or after this date (and the edges they state)
    are written out, for increments; the landscape itself is always evaluated over the whole
    table, so a new publication citing an old member is found. ``keywords=False`` drops the
    keyword rules (and the text columns, the most expensive part of the scan)."""
    scratch = scratch_name(scratch_dataset)
    src = f"`{SOURCE_TABLE}`"
    tables = {part: f"{scratch[:-1]}.{TABLE_PREFIX}{part}`" for part in RESULT_TABLES}
    params: list[Param] = []

    def bind(name: str, typ: str, value: Any) -> str:
        params.append(Param(name, typ, value))
        return f"@{name}"

    strong = list(landscape.strong_keywords) if keywords else []
    weak = list(landscape.weak_keywords) if keywords and landscape.context_codes else []
    rules: list[str] = []
    flags: list[str] = []
    if landscape.core_codes:
        bind("core_prefixes", "ARRAY<STRING>", cpc_prefixes(landscape.core_codes))
        flags.append(f"{_cpc_any('core_prefixes')} AS match_core")
        rules.append("match_core")
    if strong:
        bind("strong_re", "STRING", keyword_regex(strong))
        flags.append(f"({_text_any('title_localized', 'strong_re')} OR {_text_any('abstract_localized', 'strong_re')}) "
                     "AS match_strong")
        rules.append("match_strong")
    if weak:
        bind("context_prefixes", "ARRAY<STRING>", cpc_prefixes(landscape.context_codes))
        bind("weak_re", "STRING", keyword_regex(weak))
        flags.append(f"({_cpc_any('context_prefixes')} AND ({_text_any('title_localized', 'weak_re')} OR "
                     f"{_text_any('abstract_localized', 'weak_re')})) AS match_context")
        rules.append("match_context")
    if not rules:
        raise ConfigError(f"{landscape.source_path}: with keywords left out the landscape has no rule left "
                          "(no [classification].core codes)")
    uses_text = bool(strong or weak)
    bind("date_from", "INT64", yyyymmdd(landscape.date_from))
    bind("date_to", "INT64", yyyymmdd(landscape.date_to))
    offices_filter = ""
    if landscape.offices:
        bind("offices", "ARRAY<STRING>", list(landscape.offices))
        offices_filter = "\n    AND p.country_code IN UNNEST(@offices)"
    bind("since", "INT64", yyyymmdd(since) if since else 0)
    text_cols = (f",\n    {_pick_text('title_localized')} AS title,\n    {_pick_text('abstract_localized')} AS abstract"
                 if uses_text else ",\n    CAST(NULL AS STRING) AS title,\n    CAST(NULL AS STRING) AS abstract")
    flags += [f"FALSE AS {r}" for r in ("match_core", "match_strong", "match_context") if r not in rules]
    flag_cols = ",\n    ".join(flags)
    any_rule = " OR ".join(rules)

    statements: list[tuple[str, str]] = []
    what = "CPC prefix match" + (", keyword match on title/abstract" if uses_text else "")
    statements.append(("members", f"""-- 1. landscape members: {what}
CREATE TEMP TABLE ps_members AS
SELECT publication_number, family_id, title, abstract, match_core, match_strong, match_context
FROM (
  SELECT
    p.publication_number,
    p.family_id{text_cols},
    {flag_cols}
  FROM {src} AS p
  WHERE COALESCE(NULLIF(p.priority_date, 0), NULLIF(p.filing_date, 0), NULLIF(p.publication_date, 0), @date_from)
        BETWEEN @date_from AND @date_to{offices_filter}
) AS m
WHERE {any_rule}"""))
    statements.append(("family_publications", f"""-- 2. every publication of a landscape family (DOCDB simple family)
CREATE TEMP TABLE ps_family_pubs AS
SELECT p.publication_number, p.family_id, p.publication_date
FROM {src} AS p
WHERE p.family_id IN (SELECT family_id FROM ps_members WHERE family_id IS NOT NULL AND family_id NOT IN ('', '-1'))
   OR p.publication_number IN (SELECT publication_number FROM ps_members)"""))
    statements.append(("citations", f"""-- 3. citation edges one hop both ways: backward from the landscape families, forward into them
CREATE TEMP TABLE ps_edges AS
SELECT
  p.publication_number AS citing_publication_number,
  p.publication_date AS citing_publication_date,
  c.publication_number AS cited_publication_number,
  c.application_number AS cited_application_number,
  c.npl_text,
  c.type,
  c.category,
  c.filing_date AS cited_filing_date,
  p.publication_number IN (SELECT publication_number FROM ps_family_pubs) AS backward,
  COALESCE(c.publication_number IN (SELECT publication_number FROM ps_family_pubs), FALSE) AS forward
FROM {src} AS p
CROSS JOIN UNNEST(p.citation) AS c
WHERE p.publication_date >= @since
  AND (p.publication_number IN (SELECT publication_number FROM ps_family_pubs)
       OR c.publication_number IN (SELECT publication_number FROM ps_family_pubs));
CREATE OR REPLACE TABLE {tables['citations']} AS
SELECT citing_publication_number, citing_publication_date, cited_publication_number, cited_application_number,
  npl_text, type, category, cited_filing_date, backward, forward
FROM ps_edges"""))
    statements.append(("touched", """-- 4. every publication touched: the families' own (published since the cursor) and both ends of every edge
CREATE TEMP TABLE ps_touched AS
SELECT publication_number FROM ps_family_pubs WHERE publication_date >= @since
UNION DISTINCT
SELECT citing_publication_number FROM ps_edges
UNION DISTINCT
SELECT cited_publication_number FROM ps_edges
WHERE cited_publication_number IS NOT NULL AND cited_publication_number <> ''"""))
    statements.append(("publications", f"""-- 5. their bibliographic data (text only for the members, read once in part 1)
CREATE TEMP TABLE ps_pub_rows AS
SELECT
  p.publication_number,
  p.country_code,
  p.kind_code,
  p.application_number,
  p.family_id,
  p.publication_date,
  p.filing_date,
  p.priority_date,
  p.grant_date,
  ARRAY(SELECT AS STRUCT c.code, c.inventive, c.first FROM UNNEST(p.cpc) AS c) AS cpc,
  ARRAY(SELECT AS STRUCT a.name, a.country_code FROM UNNEST(p.assignee_harmonized) AS a) AS assignee_harmonized,
  ARRAY(SELECT AS STRUCT i.name, i.country_code FROM UNNEST(p.inventor_harmonized) AS i) AS inventor_harmonized,
  ARRAY(SELECT AS STRUCT pc.publication_number, pc.application_number, pc.filing_date
        FROM UNNEST(p.priority_claim) AS pc) AS priority_claim,
  m.title,
  m.abstract,
  m.publication_number IS NOT NULL AS in_landscape,
  COALESCE(m.match_core, FALSE) AS match_core,
  COALESCE(m.match_strong, FALSE) AS match_strong,
  COALESCE(m.match_context, FALSE) AS match_context,
  p.publication_number IN (SELECT publication_number FROM ps_family_pubs) AS in_landscape_family
FROM {src} AS p
LEFT JOIN ps_members AS m ON m.publication_number = p.publication_number
WHERE p.publication_number IN (SELECT publication_number FROM ps_touched);
CREATE OR REPLACE TABLE {tables['publications']} AS
SELECT publication_number, country_code, kind_code, application_number, family_id, publication_date, filing_date,
  priority_date, grant_date, cpc, assignee_harmonized, inventor_harmonized, priority_claim, title, abstract,
  in_landscape, match_core, match_strong, match_context, in_landscape_family
FROM ps_pub_rows"""))
    statements.append(("families", f"""-- 6. one row per DOCDB family of a touched publication
CREATE TEMP TABLE ps_family_rows AS
SELECT p.family_id, p.publication_number, p.country_code, p.priority_date,
  ARRAY(SELECT a.name FROM UNNEST(p.assignee_harmonized) AS a WHERE a.name IS NOT NULL) AS assignees
FROM {src} AS p
WHERE p.family_id IN (SELECT family_id FROM ps_pub_rows
                      WHERE family_id IS NOT NULL AND family_id NOT IN ('', '-1'));
CREATE TEMP TABLE ps_family_agg AS
SELECT
  f.family_id,
  MIN(NULLIF(f.priority_date, 0)) AS earliest_priority_date,
  ARRAY_AGG(DISTINCT f.publication_number ORDER BY f.publication_number) AS members,
  ARRAY_AGG(DISTINCT f.country_code ORDER BY f.country_code) AS offices,
  LOGICAL_OR(m.publication_number IS NOT NULL) AS in_landscape
FROM ps_family_rows AS f
LEFT JOIN ps_members AS m ON m.publication_number = f.publication_number
GROUP BY f.family_id;
CREATE OR REPLACE TABLE {tables['families']} AS
SELECT fam.family_id, fam.earliest_priority_date, fam.members, fam.offices,
  COALESCE(asg.assignees, []) AS assignees_harmonized, fam.in_landscape
FROM ps_family_agg AS fam
LEFT JOIN (
  SELECT f.family_id, ARRAY_AGG(DISTINCT a ORDER BY a) AS assignees
  FROM ps_family_rows AS f CROSS JOIN UNNEST(f.assignees) AS a
  GROUP BY f.family_id
) AS asg ON asg.family_id = fam.family_id"""))
    header = (f"-- patentscope BigQuery landscape script v{SCRIPT_VERSION}: {_comment(landscape.name)} "
              f"(version {_comment(landscape.version)})\n"
              f"-- source: {SOURCE_TABLE} (Google Patents Public Data, CC BY 4.0)\n"
              f"-- results: {', '.join(t.strip('`') for t in tables.values())}\n"
              "-- query parameters (bound by patentscope or `bq query --parameter`; the console route declares them): "
              + ", ".join(f"@{p.name} {p.type}" for p in params) + "\n")
    sql = header + ";\n\n".join(s for _, s in statements) + ";\n"
    return Script(sql=sql, params=params, tables=tables, uses_text=uses_text, statements=statements)


def declare_block(script: Script) -> str:
    """``DECLARE`` statements giving each parameter its value, for pasting into the BigQuery
    console (which cannot bind named parameters); the values are written as GoogleSQL literals."""
    def lit(p: Param) -> str:
        if p.type == "INT64":
            return str(int(p.value))
        if p.type == "STRING":
            return _string_literal(str(p.value))
        return "[" + ", ".join(_string_literal(str(v)) for v in p.value) + "]"

    lines = [f"DECLARE {VAR_PREFIX}{p.name} {p.type} DEFAULT {lit(p)};" for p in script.params]
    return "\n".join(lines) + "\n"


def _string_literal(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def console_script(script: Script) -> str:
    """The script with DECLAREd variables instead of ``@parameters`` (the console route)."""
    body = re.sub(r"@([a-z_]+)\b", lambda m: VAR_PREFIX + m.group(1) if m.group(1) in script.param_values() else m.group(0), script.sql)
    return declare_block(script) + body


def transpile(script: Script, dialect: str) -> list[str]:
    """The script's statements in another SQL dialect (``duckdb``, ``spark``, ...) via sqlglot,
    for users who host an export of the table (or PATSTAT shaped like it) themselves. The
    parameters stay parameters (``$name`` in DuckDB)."""
    try:
        import sqlglot
    except ImportError:
        raise ConfigError("transpiling the script needs sqlglot: pip install 'patentscope[bigquery]'") from None
    return [s for s in sqlglot.transpile(script.sql, read="bigquery", write=dialect) if s.strip()]
