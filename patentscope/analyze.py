"""``patentscope analyze``: recompute every derived table from what the warehouse holds.

Steps, in order (each writes its tables in its own transaction, so readers see either the old
or the new version of a table, never half of one):

1. holders      names as written -> holders -> holder groups over time (holders/build.py)
2. expiry       expected expiry, status, in-force stock, holder cliffs (metrics/expiry/)
3. segments     technology segments per publication (metrics/segments.py)
4. centrality   citation centrality per family (metrics/citations.py)
5. concentration  HHI, CR-k, Gini by year and scope (metrics/concentration.py)

The run is recorded in ``ingest_runs`` (source 'analyze') with per-step counts.

Progress: while a step runs, one live line on stderr (rich) names it, with the steps done and
the elapsed time; it is shown only when stderr is a terminal and ``-q`` was not given (or as
``progress=`` says), so logs, pipes and cron output stay clean.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import PatentscopeError
from .warehouse.toolkit import recorded_run, writer

Log = Callable[[str], None]
STEPS = ("holders", "expiry", "segments", "centrality", "concentration")


def _summary(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    if isinstance(stats, dict):
        return stats
    out = {}
    for k, v in vars(stats).items():
        if k.startswith("_") or k == "frame":
            continue
        out[k] = v if isinstance(v, (int, float, str, bool, dict, list, type(None))) else str(v)
    return out


def progress_wanted(progress: bool | None = None) -> bool:
    """Explicit ``progress``, else: stderr is a terminal and the CLI was not given ``-q``."""
    if progress is not None:
        return progress
    if not sys.stderr.isatty():
        return False
    import click

    ctx = click.get_current_context(silent=True)
    return not bool(getattr(ctx.find_root().obj if ctx else None, "quiet", False))


@contextlib.contextmanager
def step_progress(total: int, enabled: bool) -> Iterator[Callable[[str], None]]:
    """Yields ``advance(label)``: starts the live line for the next step (and ticks the last)."""
    if not enabled:
        yield lambda _label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("analyze", total=total)
        started = [False]

        def advance(label: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=label, refresh=True)

        yield advance


def analyze(warehouse: Path, *, at: dt.date | None = None, today: dt.date | None = None,
            steps: tuple[str, ...] = STEPS, log: Log = lambda _m: None,
            progress: bool | None = None) -> dict[str, dict[str, Any]]:
    """Run the analysis steps on a warehouse (as its single writer). Returns per-step stats.

    ``progress``: the live progress line on stderr (default: see :func:`progress_wanted`)."""
    from .holders.build import refresh as refresh_holders
    from .metrics import citations, concentration, expiry, segments

    today = today or dt.date.today()
    at = at or today
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise PatentscopeError(f"unknown analysis step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    if not Path(warehouse).exists():
        from .errors import WarehouseError

        raise WarehouseError(f"no warehouse at {warehouse}; load data first (`patentscope demo`, `patentscope ingest ...`) "
                             "or point --warehouse / PATENTSCOPE_WAREHOUSE at an existing file")
    results: dict[str, dict[str, Any]] = {}
    todo = [s for s in STEPS if s in steps]
    with writer(warehouse, command="patentscope analyze", migrate=True) as con, \
            step_progress(len(todo), progress_wanted(progress)) as advance:
        with recorded_run(con, "analyze", "patentscope analyze " + " ".join(steps)) as run:
            ex_frame = None
            for step in STEPS:
                if step not in steps:
                    continue
                advance(f"analyze {step}")
                t0 = time.perf_counter()
                if step == "holders":
                    stats: Any = refresh_holders(con)
                elif step == "expiry":
                    holders = con.sql("SELECT pub_key, group_label AS holder_group, valid_from, valid_to "
                                      "FROM publication_holder_groups").pl()
                    landscape = con.sql("SELECT pub_key FROM publications WHERE in_landscape").pl()["pub_key"]
                    stats = expiry.refresh(con, at=at, today=today, holders=holders, holder_basis="holder_group",
                                           stock_pub_keys=landscape)
                    ex_frame = stats.frame
                elif step == "segments":
                    stats = segments.refresh(con)
                elif step == "centrality":
                    stats = citations.refresh(con)
                else:
                    if ex_frame is None:
                        inp = expiry.load_inputs(con)
                        ex_frame = expiry.compute_expiry(inp["publications"], inp["term_inputs"], inp["legal_events"],
                                                         inp["priority_claims"], at=at, today=today)
                    stats = concentration.refresh(con, ex_frame, today=today)
                results[step] = _summary(stats) | {"seconds": round(time.perf_counter() - t0, 3)}
                log(f"analyze {step}: {json.dumps(results[step], default=str, sort_keys=True)}")
            run.loaded = sum(int(v.get("rows", 0) or 0) for v in results.values())
            run.message = json.dumps({k: v.get("seconds") for k, v in results.items()})
    return results
