"""The landscape in DuckDB SQL: the compiler the bulk release load uses.

The same rules as :meth:`patentscope.landscape.Landscape.match`, written in SQL with RE2
patterns: a core CPC code (:func:`code_match_sql`, on symbols normalised by
:func:`symbol_sql`), else a strong keyword on the text, else a weak keyword on the text of a
record with a context code. :func:`select_landscape_sql` gives the reason string exactly as
``Landscape.match`` does; :func:`match_sql` runs the whole selection on two plain tables (used
by the test that holds every compiler to ``Landscape.match``). The bulk load stages its own
tables (streamed, candidates only) and ends with :func:`select_landscape_sql`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Landscape


def lit(s: str) -> str:
    """A SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def _re2_escape(word: str) -> str:
    return re.sub(r"([\\.^$|?*+()\[\]{}\-/])", r"\\\1", word)


def keyword_pattern(words: tuple[str, ...]) -> str | None:
    """RE2 form of :meth:`Landscape._kw`: ``(?<![\\w-])(?:alts)(?![\\w])``, case-insensitive.

    RE2 has no look-around, so the boundary characters are matched (and group 1 is the keyword).
    Python's ``\\w`` is Unicode letters, digits and underscore: ``[\\pL\\pN_]`` in RE2. The longest
    words come first, as in Python, so the same alternative wins at the same position.
    """
    if not words:
        return None
    alts = "|".join(_re2_escape(w) for w in sorted(words, key=len, reverse=True))
    return rf"(?i)(?:^|[^\pL\pN_-])({alts})(?:$|[^\pL\pN_])"


def span_start_pattern(words: tuple[str, ...]) -> tuple[str, int] | None:
    """An RE2 pattern (and a prefix length) for an abstract that starts with the rest of a
    multi-word keyword, e.g. ``iron boron`` or ``boron`` of ``neodymium iron boron``: the only
    way a keyword can match across the space joining title and abstract."""
    rests = sorted({" ".join(w.split(" ")[i:]) for w in words if " " in w for i in range(1, len(w.split(" ")))},
                   key=len, reverse=True)
    rests = [r for r in rests if r]
    if not rests:
        return None
    return "(?i)^(?:" + "|".join(_re2_escape(r) for r in rests) + ")", max(len(r) for r in rests) + 1


_SYMBOL_PAT = r"^([A-HY])\s*(\d{2})\s*([A-Z])\s*(\d{1,4})\s*/\s*(\d{2,6})$"


def symbol_sql(raw: str) -> str:
    """SQL for :func:`patentscope.landscape.codes.normalize_symbol` of ``raw``."""
    u = f"upper(regexp_replace({raw}, '^\\s+|\\s+$', '', 'g'))"
    return (f"(SELECT CASE WHEN m.a <> '' THEN m.a || m.b || m.c || CAST(CAST(m.d AS INTEGER) AS VARCHAR) || '/' || m.e END "
            f"FROM (SELECT regexp_extract({u}, '{_SYMBOL_PAT}', ['a', 'b', 'c', 'd', 'e']) AS m))")


def code_match_sql(sym: str, code: str) -> str:
    """SQL for :func:`patentscope.landscape.codes.matches_code` (both canonical)."""
    if "/" not in code:
        prefix = code if len(code) == 4 else code + "/"
        return f"starts_with({sym}, {lit(prefix)})"
    return f"({sym} = {lit(code)} OR (starts_with({sym}, {lit(code)}) AND contains({sym}, '/')))"


def any_code_sql(sym: str, codes: tuple[str, ...]) -> str:
    return "(" + " OR ".join(code_match_sql(sym, c) for c in codes) + ")" if codes else "false"


@dataclass(frozen=True)
class LandscapeSQL:
    core: str            # boolean SQL over column `symbol`
    context: str
    strong: str | None   # RE2 patterns, None when the list is empty
    weak: str | None

    @classmethod
    def of(cls, land: Landscape) -> LandscapeSQL:
        return cls(any_code_sql("symbol", land.core_codes), any_code_sql("symbol", land.context_codes),
                   keyword_pattern(land.strong_keywords), keyword_pattern(land.weak_keywords))


def select_landscape_sql(lsql: LandscapeSQL, text_table: str = "s_text", cpc_table: str = "s_cpc_hits") -> str:
    """SELECT patent_id, reason for the landscape, from per-patent keyword matches and CPC hits."""
    return f"""
        SELECT patent_id,
               CASE WHEN h.core_sym IS NOT NULL THEN 'cpc:' || h.core_sym
                    WHEN t.strong_kw <> '' THEN 'keyword:' || t.strong_kw
                    ELSE 'cpc+keyword:' || h.ctx_sym || '+' || t.weak_kw END AS reason
        FROM {cpc_table} h FULL OUTER JOIN {text_table} t USING (patent_id)
        WHERE h.core_sym IS NOT NULL
           OR coalesce(t.strong_kw, '') <> ''
           OR (coalesce(t.weak_kw, '') <> '' AND h.ctx_sym IS NOT NULL)"""


def match_sql(land: Landscape, records: str = "records", symbols: str = "symbols") -> str:
    """SELECT id AS patent_id, reason of the records in the landscape, from ``records(id, text)``
    and ``symbols(id, seq, raw)`` (raw CPC strings in the record's order)."""
    lsql = LandscapeSQL.of(land)
    strong = f"regexp_extract(r.text, {lit(lsql.strong)}, 1)" if lsql.strong else "''"
    weak = f"regexp_extract(r.text, {lit(lsql.weak)}, 1)" if lsql.weak else "''"
    hits = f"""
        SELECT c.id AS patent_id,
               first(s.symbol ORDER BY c.seq) FILTER (WHERE s.is_core) AS core_sym,
               first(s.symbol ORDER BY c.seq) FILTER (WHERE s.is_ctx) AS ctx_sym
        FROM {symbols} c JOIN (SELECT raw, symbol, {lsql.core} AS is_core, {lsql.context} AS is_ctx
                              FROM (SELECT raw, {symbol_sql('raw')} AS symbol FROM (SELECT DISTINCT raw FROM {symbols}))) s
             USING (raw)
        WHERE s.is_core OR s.is_ctx GROUP BY c.id"""
    text = f"""
        SELECT r.id AS patent_id, {strong} AS strong_kw,
               CASE WHEN h.ctx_sym IS NOT NULL THEN {weak} ELSE '' END AS weak_kw
        FROM {records} r LEFT JOIN ({hits}) h ON h.patent_id = r.id"""
    return f"WITH h AS ({hits}), t AS ({text}) {select_landscape_sql(lsql, 't', 'h')}"
