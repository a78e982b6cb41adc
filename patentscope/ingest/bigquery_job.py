"""Google Patents Public Data on BigQuery as a source of ``ingest --all`` (patentscope/ingest/registry.py).

The step runs the live route of :func:`patentscope.ingest.bigquery.run`: a dry run, the cost
guard (an unattended job never accepts a scan above ``max_bytes_billed``: the step fails with the
estimate and the user raises the limit or runs ``patentscope ingest bigquery --yes`` once), the
job, the result tables saved in one transaction. The ingestor keeps its own position (the
``bigquery`` cursor: the newest publication date loaded, minus ``overlap_days`` on the next run,
and a full reload when the landscape changed), so the step has no date window of its own.
Credentials are Google's Application Default Credentials, never a key in patentscope.toml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import Option

if TYPE_CHECKING:
    from ..jobs import Job, StepResult

# None = the default of patentscope.sources.bigquery.BigQueryOptions (named in each help text)
OPTIONS: dict[str, Option] = {
    "billing_project": Option("str", None, help="the Google Cloud project billed (default: the credentials' project)"),
    "location": Option("str", None, help='where the job runs (default "US": the public dataset\'s multi-region)'),
    "max_bytes_billed": Option("int", None, lo=1, help="the cost guard: bytes a job may bill (default 50 GB)"),
    "scratch_dataset": Option("str", None, help="dataset of the result tables (default patentscope_scratch)"),
    "keywords": Option("any", None, help='true (default), false (CPC rules only) or "once" (the text on the first run '
                                         "of a landscape version)"),
    "overlap_days": Option("int", None, lo=0, hi=3650, help="each run starts this many days before the newest "
                                                             "publication loaded (default 30)"),
    "since": Option("date", None, help="first publication date on the first run (default: everything)"),
    "page_size": Option("int", None, lo=1, help="rows per result page (default: the client's)"),
    "api_endpoint": Option("str", None, help="an emulator or test server instead of Google"),
    "declare_parameters": Option("bool", None, help="DECLARE the values instead of binding them (bqemulator)"),
}


def _given(opts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in opts.items() if k != "enabled" and v is not None}


def check(opts: dict[str, Any], where: str) -> None:
    """The values' own rules (``keywords`` = true/false/"once", positive sizes): BigQueryOptions."""
    from ..sources.bigquery import BigQueryOptions

    BigQueryOptions.from_config(_given(opts), where)


def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    from .bigquery import run as run_bigquery

    log = job.log.ingestor("bigquery")
    out = run_bigquery(job.warehouse, job.land, _given(opts), command=job.cmd("bigquery"), raw_dir=job.raw_dir,
                       log=log, client=job.transports.get("bigquery"))
    res.add(out)
    gb = (out.bytes_billed or 0) / 10**9
    res.notes.append(f"job {out.job_id}: {gb:.1f} GB billed"
                     + (f", from {out.since}" if out.since else ", everything (no cursor for this landscape)"))
