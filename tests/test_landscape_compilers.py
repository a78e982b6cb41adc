"""Every landscape compiler against Landscape.match, on the same real records (the embedded
sample), under the shipped landscape and under narrower ones that exercise each rule.

- SQL (the bulk load): must give exactly the records *and reasons* of ``Landscape.match``.
- CQL (EPO OPS) and the ODP query are pre-filters for a remote search whose hits are re-checked
  with ``Landscape.match``: evaluated here with the search services' semantics (``cpc=/low``
  and ``*``: the code and its subdivisions; ``ta=``/title phrases: case-insensitive token
  sequences), they must miss no record ``Landscape.match`` selects, so search + re-check gives
  the same answer. ODP indexes titles, not abstracts: its records' text is the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from patentscope.landscape import Landscape, load_landscape
from patentscope.landscape.cql import build_queries
from patentscope.landscape.odp import odp_query
from patentscope.landscape.sql import match_sql


@dataclass(frozen=True)
class Rec:
    key: str
    title: str
    abstract: str
    symbols: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"


@pytest.fixture(scope="module")
def records(sample_con) -> list[Rec]:
    rows = sample_con.execute("""
        SELECT p.pub_key, coalesce(p.title, ''), coalesce(p.abstract, ''),
               coalesce(list(c.symbol ORDER BY c.position, c.scheme, c.symbol) FILTER (WHERE c.symbol IS NOT NULL), [])
        FROM publications p LEFT JOIN classifications c USING (pub_key)
        GROUP BY ALL ORDER BY p.pub_key""").fetchall()
    assert len(rows) > 20
    return [Rec(r[0], r[1], r[2], tuple(dict.fromkeys(r[3]))) for r in rows]


def narrower(tmp_path: Path, name: str, body: str) -> Landscape:
    p = tmp_path / f"{name}.toml"
    p.write_text(f'name = "{name}"\n{body}', encoding="utf-8")
    return load_landscape(p)


@pytest.fixture()
def landscapes(tmp_path) -> list[Landscape]:
    return [
        load_landscape(),
        narrower(tmp_path, "codes", '[classification]\ncore = ["H01F1/0577", "C22C38"]\n'),
        narrower(tmp_path, "strong", '[keywords]\nstrong = ["sintered magnet", "R-T-B", "coercivity"]\n'),
        narrower(tmp_path, "context", '[classification]\ncore = ["H01F41/0293"]\ncontext = ["H01F1", "B22F"]\n'
                 '[keywords]\nstrong = ["Nd2Fe14B"]\nweak = ["magnet", "alloy", "powder"]\n'),
    ]


# -- reference evaluators of the two search languages ------------------------------------------


def tokens(s: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", s.lower())


def phrase_in(phrase: str, text: str) -> bool:
    want, have = tokens(phrase), tokens(text)
    return bool(want) and any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


def covers(code: str, symbol: str) -> bool:
    """A search service's 'this code and its subdivisions' on canonical symbols."""
    if "/" not in code:
        return symbol.startswith(code) if len(code) == 4 else symbol.split("/")[0] == code
    return symbol.startswith(code)


class Expr:
    """A tiny recursive-descent parser for ``a or b and (c or d)`` with a term parser."""

    def __init__(self, text: str, term_re: str, op_or: str, op_and: str):
        self.toks = re.findall(rf"\(|\)|{term_re}|\S+", text)
        self.i, self.op_or, self.op_and = 0, op_or, op_and
        self.tree = self.disj()
        assert self.i == len(self.toks), f"unparsed: {self.toks[self.i:]}"

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def disj(self):
        parts = [self.conj()]
        while self.peek() == self.op_or:
            self.i += 1
            parts.append(self.conj())
        return ("or", parts)

    def conj(self):
        parts = [self.atom()]
        while self.peek() == self.op_and:
            self.i += 1
            parts.append(self.atom())
        return ("and", parts)

    def atom(self):
        tok = self.toks[self.i]
        self.i += 1
        if tok == "(":
            inner = self.disj()
            assert self.toks[self.i] == ")"
            self.i += 1
            return inner
        return ("term", tok)


def evaluate(tree, term) -> bool:
    kind, val = tree
    if kind == "term":
        return term(val)
    results = [evaluate(t, term) for t in val]
    return any(results) if kind == "or" else all(results)


def cql_hits(query: str, rec: Rec) -> bool:
    def term(t: str) -> bool:
        if t.startswith("cpc=/low "):
            return any(covers(t[len("cpc=/low "):], s) for s in rec.symbols)
        if t.startswith("ta="):
            return phrase_in(t[3:].strip('"'), rec.text)
        raise AssertionError(f"unknown CQL term {t}")

    return evaluate(Expr(query, r'cpc=/low \S+?(?=\)|\s|$)|ta="[^"]*"|ta=[^\s()]+', "or", "and").tree, term)


def padded(sym: str) -> str:
    sub, rest = sym[:4], sym[4:]
    group, tail = rest.split("/", 1)
    return f"{sub}{group.rjust(4)}/{tail}"


def odp_hits(query: str, rec: Rec) -> bool:
    stored = [f for s in rec.symbols for f in (s, padded(s))]  # ODP has held both forms

    def term(t: str) -> bool:
        field, _, value = t.partition(":")
        if field == "applicationMetaData.cpcClassificationBag":
            assert value.endswith("*")
            prefix = re.sub(r"\\(.)", r"\1", value[:-1])
            return any(f.startswith(prefix) and covers(re.sub(r"\s+", "", prefix), re.sub(r"\s+", "", f)) for f in stored)
        if field == "applicationMetaData.inventionTitle":
            return phrase_in(value.strip('"'), rec.title)
        raise AssertionError(f"unknown ODP term {t}")

    term_re = r'applicationMetaData\.\w+:(?:"[^"]*"|(?:\\.|[^\s()\\])+)'
    return evaluate(Expr(query, term_re, "OR", "AND").tree, term)


# -- the test -----------------------------------------------------------------------------------


def test_every_compiler_gives_the_answer_of_landscape_match(records, landscapes):
    con = duckdb.connect()
    con.execute("CREATE TABLE records (id VARCHAR, text VARCHAR)")
    con.execute("CREATE TABLE symbols (id VARCHAR, seq INTEGER, raw VARCHAR)")
    con.executemany("INSERT INTO records VALUES (?, ?)", [(r.key, r.text) for r in records])
    con.executemany("INSERT INTO symbols VALUES (?, ?, ?)",
                    [(r.key, i, padded(s) if i % 2 else s) for r in records for i, s in enumerate(r.symbols)])
    seen_reasons: set[str] = set()
    for land in landscapes:
        want = {r.key: land.match(list(r.symbols), r.text) for r in records}
        want = {k: v for k, v in want.items() if v is not None}
        assert 0 < len(want) < len(records), land.name  # each selects some records, not all
        seen_reasons |= {v.split(":")[0] for v in want.values()}
        # SQL: the same records and the same reasons
        got = dict(con.execute(match_sql(land)).fetchall())
        assert got == want, land.name
        # CQL: no selected record is missed by the queries (their hits are then re-checked)
        queries = build_queries(land)
        cql = {r.key for r in records if any(cql_hits(q, r) for q in queries)}
        assert set(want) <= cql, (land.name, sorted(set(want) - cql))
        assert {k for k in cql if land.match(list(next(r for r in records if r.key == k).symbols),
                                             next(r for r in records if r.key == k).text)} == set(want)
        # ODP: titles only
        want_odp = {r.key for r in records if land.match(list(r.symbols), r.title) is not None}
        q = odp_query(land)
        odp = {r.key for r in records if odp_hits(q, r)}
        assert want_odp <= odp, (land.name, sorted(want_odp - odp))
    assert seen_reasons == {"cpc", "keyword", "cpc+keyword"}  # every rule was exercised
