"""The PatentsView bulk release as a source: its options, its run in ``ingest --all``, and the one
download of a release from the ODP bulk product (used by ``patentscope ingest bulk --download``
and by the jobs). The load itself is :func:`patentscope.ingest.us_bulk.ingest_bulk`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InputError
from .registry import Option

if TYPE_CHECKING:
    from ..jobs import Job, StepResult


@dataclass
class Download:
    """A downloaded release: the table files, where each came from, its name and dates, and the
    landing record of the product listing."""

    files: dict[str, Path]
    requests: dict[str, str]
    release: str
    info: dict[str, Any]
    landing: list[dict[str, Any]]


def download_release(dest: Path, *, log: Callable[[str], None], transport: Any = None, clock: Any = None) -> Download:
    """Fetch the release's tables from the ODP bulk product PVGPATDIS into ``dest`` (files
    already there are reused, broken transfers resume). Needs USPTO_ODP_API_KEY."""
    from ..sources.uspto_bulk import FILES_PATH, BulkDownloader
    from .us_bulk import OPTIONAL_TABLES, PRODUCT, REQUIRED_TABLES
    from .us_odp import land_bytes

    kwargs: dict[str, Any] = {"log": log}
    if transport is not None:
        kwargs["transport"] = transport
    if clock is not None:
        kwargs["clock"] = clock
    with BulkDownloader(**kwargs) as dl:
        product, body = dl.product(PRODUCT)
        landing = [land_bytes(body, request=f"GET /api/v1/datasets/products/{PRODUCT}", content_type="application/json",
                              fetched_at=dl.clock.now().replace(tzinfo=None), raw_dir=None)]
        by_name = {f.name: f for f in product.files}
        wanted = {t: by_name.get(f"{t}.tsv.zip") for t in (*REQUIRED_TABLES, *OPTIONAL_TABLES)}
        missing = [t for t in REQUIRED_TABLES if wanted[t] is None]
        if missing:
            raise InputError(f"ODP product {PRODUCT} lists no {', '.join(m + '.tsv.zip' for m in missing)} "
                             f"(it lists {len(product.files)} files, e.g. {', '.join(sorted(by_name)[:8])}); "
                             "the table names may have changed")
        log(f"{product.release}: {len(product.files)} files listed, data {product.data_from}..{product.data_to}")
        files = {t: dl.download(pf, dest) for t, pf in wanted.items() if pf is not None}
        requests = {t: "https://api.uspto.gov" + FILES_PATH.format(product=PRODUCT, name=pf.name)
                    for t, pf in wanted.items() if pf is not None}
        info = {"product_last_modified": product.last_modified, "data_from": product.data_from,
                "data_to": product.data_to}
        return Download(files, requests, product.release, info, landing)


# ------------------------------------------------------------------------------------------------
# as a source of `ingest --all` (patentscope/ingest/registry.py)

OPTIONS: dict[str, Option] = {
    "directory": Option("str", None, help="folder of PatentsView tables, or a glob of release folders (the last in name order is used)"),
    "download": Option("bool", False, help="fetch the release from the ODP bulk product PVGPATDIS"),
    "download_dir": Option("str", None),
    "release": Option("str", None),
    "zip_reader": Option("choice", "arrow", choices=("arrow", "fifo")),
}


def check(opts: dict[str, Any], where: str) -> None:
    if bool(opts["directory"]) == bool(opts["download"]):
        raise ConfigError(f"{where}: give either directory = \"...\" (PatentsView tables on disk) or download = true")


def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    from .us_bulk import ingest_bulk

    log = job.log.ingestor("uspto_bulk")
    source: Path | dict[str, Path]
    if opts["download"]:
        dest = job.path(opts["download_dir"]) if opts["download_dir"] else job.raw_dir / "bulk"
        got = download_release(dest, log=log, transport=job.transports.get("uspto_bulk"), clock=job.clock)
        source, requests, release, info, extra = got.files, got.requests, opts["release"] or got.release, got.info, got.landing
        what = "--download"
    else:
        found = [p for p in job.expand(opts["directory"]) if p.is_dir()]
        if not found:
            raise InputError(f"[sources.uspto_bulk] directory = {opts['directory']!r}: no folder matches")
        source, requests, release, info, extra = found[-1], None, opts["release"], None, []
        what = str(found[-1])
    out = ingest_bulk(job.warehouse, source, job.land, command=job.cmd("uspto_bulk", what), release=release,
                      release_info=info, requests=requests, raw_dir=job.raw_dir, zip_reader=opts["zip_reader"],
                      extra_landing=extra, log=log)
    res.add(out)
    res.notes.append(f"release {out.release}" + (" already loaded" if out.skipped else ""))
    if out.skipped:
        res.status = "skipped"
