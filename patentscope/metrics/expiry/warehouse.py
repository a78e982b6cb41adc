"""The warehouse side: read the engine's inputs, write the derived tables (refresh)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import polars as pl

from ...errors import WarehouseError
from ...warehouse.connection import register, tables
from .common import EVENT_SCHEMA, PRIORITY_SCHEMA, PUB_SCHEMA, TERM_INPUT_SCHEMA, _conform
from .engine import compute_expiry, public_columns
from .evidence import evidence_frame
from .inputs import DERIVED_FROM, derive_term_inputs
from .rules import TermRules, load_rules
from .stock import holder_cliffs, in_force_stock, status_grid

# the original patent of each US reissue (35 USC 251(a)); no ingest writes this relation yet
_REISSUE_LINKS = ("SELECT pub_key, related_pub_key AS original_pub_key FROM related_publications "
                  "WHERE relation = 'reissue_of' AND related_pub_key IS NOT NULL")


def load_inputs(con: duckdb.DuckDBPyConnection, pub_keys: Sequence[str] | None = None, *,
                derive_from_field_values: bool = True, holders: bool = True) -> dict[str, pl.DataFrame]:
    """The engine's input frames from a warehouse connection (read-only is fine): publications,
    term_inputs, legal_events, priority_claims, holders (publication_overview.holder_as_written
    as holder_group), status_evidence and reissue_of (related_publications 'reissue_of': pub_key,
    original_pub_key); only ``pub_keys`` when given, plus the originals of reissues among them.

    ``derive_from_field_values``: add term_inputs rows read from printed PTA and PCT data for
    publications with none (see :mod:`.inputs`; source 'field_values'). ``holders``: False leaves
    out the holders frame (a caller with its own mapping; the overview view costs ~2.5 s at 1M
    SYNTHETIC publications)."""
    if pub_keys is not None:  # a reissue's original is read with it: the reissue ends with the original's term
        keys = list(pub_keys)
        try:
            originals = con.sql(f"SELECT original_pub_key FROM ({_REISSUE_LINKS}) WHERE pub_key IN (SELECT unnest($keys))",
                                params={"keys": keys}).fetchall()
        except duckdb.CatalogException:
            originals = []
        pub_keys = keys + [o[0] for o in originals if o[0] not in keys]
    where = "" if pub_keys is None else " WHERE pub_key IN (SELECT unnest($keys))"
    params = None if pub_keys is None else {"keys": list(pub_keys)}

    def q(sql: str, **bound: object) -> pl.DataFrame:
        return con.sql(sql + where, params={**(params or {}), **bound} or None).pl()

    try:
        out = {
            "publications": q(f"SELECT {', '.join(PUB_SCHEMA)} FROM publications"),
            "term_inputs": q(f"SELECT {', '.join(TERM_INPUT_SCHEMA)} FROM term_inputs"),
            "legal_events": q(f"SELECT {', '.join(EVENT_SCHEMA)} FROM legal_events"),
            "priority_claims": q(f"SELECT {', '.join(PRIORITY_SCHEMA)} FROM priority_claims"),
        }
        if holders:
            out["holders"] = q("SELECT pub_key, holder_as_written AS holder_group FROM publication_brief")
        out["reissue_of"] = q(f"SELECT * FROM ({_REISSUE_LINKS})")
        # one read of only the fields used here (the whole table is ~7 rows a publication: 2 GB at
        # 1M SYNTHETIC); each reader below takes its own fields from it
        fields = ["status_as_shown", "expiry_as_shown", "designated_states",
                  *(DERIVED_FROM if derive_from_field_values else ())]
        fv = q("SELECT pub_key, field, value, source, chosen FROM (SELECT * FROM field_values "
               "WHERE field IN (SELECT unnest($fields)))", fields=fields)
        out["status_evidence"] = evidence_frame(fv)
        out["designations"] = designations_frame(fv)
        if derive_from_field_values:
            derived = derive_term_inputs(fv, out["term_inputs"])
            if derived.height:
                out["term_inputs"] = pl.concat([out["term_inputs"], _conform(derived, TERM_INPUT_SCHEMA, "derived")],
                                               how="vertical_relaxed")
    except duckdb.CatalogException as e:
        raise WarehouseError(f"the warehouse lacks a table the expiry engine reads ({str(e).splitlines()[0]}); "
                             "run `patentscope migrate`") from None
    return out


def designations_frame(field_values: pl.DataFrame) -> pl.DataFrame:
    """(pub_key, designated: the states its EP grant designates, every source's list joined) from
    field_values rows (pub_key, field, value, ...) named 'designated_states'."""
    from ...normalize.designations import parse_designated_states

    rows = field_values.filter(pl.col("field") == "designated_states")
    states: dict[str, list[str]] = {}
    for key, value in rows.select("pub_key", "value").iter_rows():
        have = states.setdefault(key, [])
        have.extend(c for c in parse_designated_states(value) if c not in have)
    return pl.DataFrame({"pub_key": list(states), "designated": [v or None for v in states.values()]},
                        schema={"pub_key": pl.String, "designated": pl.List(pl.String)})


@dataclass(frozen=True)
class ExpiryStats:
    status_date: dt.date
    rows: int
    publications: int
    by_status: dict[str, int]
    stock_rows: int
    cliff_rows: int
    holder_basis: str
    rules_version: str
    rules_sha256: str
    unknown_reasons: dict[str, int] = field(default_factory=dict)
    # the compute_expiry columns the in-force grid reads (stock.status_grid), for the steps after
    frame: pl.DataFrame | None = field(default=None, repr=False, compare=False)


_TABLES = ("expiry_results", "in_force_stock", "holder_cliffs")


def refresh(
    con: duckdb.DuckDBPyConnection,
    at: dt.date | None = None,
    *,
    today: dt.date | None = None,
    rules: TermRules | None = None,
    holders: pl.DataFrame | None = None,
    holder_basis: str | None = None,
    years: Iterable[int] | None = None,
    stock_pub_keys: Iterable[str] | None = None,
    batch_size: int = 0,
) -> ExpiryStats:
    """Recompute expiry, in-force stock and cliffs and store them in one transaction.

    ``con`` is a writable connection to a migrated warehouse (migration 0005_expiry). Tables
    ``expiry_results``, ``in_force_stock`` and ``holder_cliffs`` are replaced as a whole, so a
    re-run gives the same rows and a failure leaves the previous ones. ``holders``: a
    (pub_key, holder_group) frame (default: publication_overview.holder_as_written, recorded
    as holder_basis 'as_written'). ``years``: the stock years (default: from the earliest grant
    year to 25 years after ``at``). ``batch_size``: publications per engine call (default
    :data:`BATCH_SIZE`); the rows are the same for every size.
    """
    batch_size = batch_size or BATCH_SIZE
    rules = rules or load_rules()
    today = today or dt.date.today()
    at = at or today
    present = tables(con)
    lacking = [t for t in _TABLES if t not in present]
    if lacking:
        raise WarehouseError(f"the warehouse has no {', '.join(lacking)} table(s); run `patentscope migrate` "
                             "(migration 0005_expiry) first")
    inp = load_inputs(con, holders=holders is None)
    if holders is None:
        holders, basis = inp["holders"], holder_basis or "as_written"
    else:
        basis = holder_basis or "holder_group"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    grids: list[pl.DataFrame] = []
    office_parts: list[pl.DataFrame] = []
    rows = 0
    from ...warehouse.toolkit import filling, replace_tables

    # one transaction (filling's): each batch's rows go straight into the new expiry_results, the
    # stock and cliffs join it; a failure anywhere leaves the previous tables. The insert of a
    # batch runs in a second thread while the engine computes the next one (DuckDB and polars
    # release the GIL); at most one insert is pending, and its error is raised here.
    with filling(con, "expiry_results", what="storing the expiry results") as target, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="patentscope-expiry-insert") as writer:

        def insert(ex: pl.DataFrame) -> None:
            register(con, "_expiry_part", public_columns(ex).with_columns(
                rules_version=pl.lit(rules.version), rules_sha256=pl.lit(rules.sha256), computed_at=pl.lit(now)))
            try:
                con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _expiry_part").fetchall()
            finally:
                con.unregister("_expiry_part")

        pending: Future[None] | None = None
        try:
            for part in _batches(inp, batch_size):
                ex = compute_expiry(part["publications"], part["term_inputs"], part["legal_events"], part["priority_claims"],
                                    at=at, today=today, rules=rules, status_evidence=part.get("status_evidence"),
                                    reissue_of=part.get("reissue_of"), designations=part.get("designations"))
                ex = ex.join(part["own"], on="pub_key", how="semi")  # a reissue's original read for it is another batch's row
                rows += ex.height
                grids.append(status_grid(ex))
                office_parts.append(ex.filter(pl.col("jurisdiction") == pl.col("office")).select("status", "status_basis"))
                if pending is not None:
                    done, pending = pending, None
                    done.result()
                pending = writer.submit(insert, ex)
                del ex  # held by the insert until it is in DuckDB; then the next batch reuses the memory
        finally:
            if pending is not None:
                pending.result()
        del inp, part  # the engine's inputs (at 1M SYNTHETIC publications ~2.5 GB): not needed after it
        grid = pl.concat(grids)
        del grids
        if years is None:
            first = grid["in_force_from"].drop_nulls().min()
            y0 = first.year if isinstance(first, dt.date) else at.year
            years = range(min(y0, at.year), at.year + 26)
        # the stock and cliffs count only ``stock_pub_keys`` when given (e.g. the landscape, leaving
        # out citation neighbours); expiry_results covers every publication
        keep = stock_pub_keys if isinstance(stock_pub_keys, pl.Series) or stock_pub_keys is None \
            else pl.Series(list(stock_pub_keys), dtype=pl.String)
        g_stock = grid if keep is None else grid.filter(pl.col("pub_key").is_in(keep.implode()))
        stock = in_force_stock(g_stock, holders, years, today=today, rules=rules).with_columns(holder_basis=pl.lit(basis))
        cliffs = holder_cliffs(g_stock, holders, at=at, rules=rules).with_columns(holder_basis=pl.lit(basis))
        del g_stock
        replace_tables(con, {"in_force_stock": stock, "holder_cliffs": cliffs}, what="storing the expiry results")
    office_rows = pl.concat(office_parts)
    counts = office_rows.group_by("status").len()
    unknown = office_rows.filter(pl.col("status") == "unknown").group_by("status_basis").len().sort("status_basis")
    return ExpiryStats(
        status_date=at, rows=rows, publications=office_rows.height,
        by_status=dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True)),
        stock_rows=stock.height, cliff_rows=cliffs.height, holder_basis=basis, rules_version=rules.version,
        rules_sha256=rules.sha256,
        unknown_reasons=dict(zip(unknown["status_basis"].to_list(), unknown["len"].to_list(), strict=True)),
        frame=grid,
    )


# publications per compute_expiry call in refresh: the engine's frame (logs and intermediate
# columns, ~11 KB a publication at 1M SYNTHETIC) is the expiry step's peak memory
BATCH_SIZE = 250_000


def _batches(inp: dict[str, pl.DataFrame], size: int) -> Iterator[dict[str, pl.DataFrame]]:
    """The engine's inputs for ``size`` publications at a time (in pub_key order), each with the
    originals of its reissues (the reissue ends with its original's term) and ``own``: the
    pub_keys the batch answers for. Rows of different publications never depend on each other
    otherwise (tests/test_expiry_fast_paths.py)."""
    pubs = inp["publications"].sort("pub_key")
    links = inp.get("reissue_of")
    for start in range(0, max(pubs.height, 1), max(size, 1)):  # an empty warehouse: one empty batch
        own = pubs.slice(start, size).select("pub_key")
        keys = own
        if links is not None and links.height:
            originals = links.join(own, on="pub_key", how="semi").select(pl.col("original_pub_key").alias("pub_key"))
            keys = pl.concat([own, originals]).unique()
        part = {name: (frame.join(keys, on="pub_key", how="semi") if "pub_key" in frame.columns else frame)
                for name, frame in inp.items() if name not in ("holders",)}
        if links is not None:
            part["reissue_of"] = links.join(own, on="pub_key", how="semi")
        part["own"] = own
        yield part
