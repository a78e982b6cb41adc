"""Running the landscape script on Google BigQuery, with a cost guard (optional extra ``bigquery``).

Steps (:class:`BigQueryRunner`):

1. **Dry run** (free): the whole script, plus one probe per part that reads exactly the columns
   of ``patents-public-data.patents.publications`` that part reads, so the bytes each part will
   scan are known before anything is billed. The estimate and its cost at the on-demand rate
   (``patentscope/data/bigquery_pricing.toml``, with its source) are reported.
2. **Refusal** above ``max_bytes_billed`` (``[sources.bigquery]``, default 50 GB) unless the
   caller confirms (``--yes``); even then the job runs with ``maximum_bytes_billed`` set to
   the larger of the two, so BigQuery itself refuses (``bytesBilledLimitExceeded``) a job that
   would bill more than was agreed.
3. **The job**: the script with its parameters bound; then the three result tables are read as
   Arrow (the BigQuery Storage Read API when ``google-cloud-bigquery-storage`` is installed,
   else paged ``tabledata.list``, which is free).

Credentials: only Application Default Credentials (``gcloud auth application-default login``,
``GOOGLE_APPLICATION_CREDENTIALS`` or the metadata server), resolved by google-auth; patentscope
never reads, stores or logs them. ``api_endpoint`` (tests, emulators) uses anonymous credentials.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import (
    AuthError,
    ConfigError,
    PatentscopeError,
    PermanentSourceError,
    QuotaError,
    SourceError,
    TransientSourceError,
    is_transient_status,
)
from .bigquery_sql import DEFAULT_SCRATCH_DATASET, SOURCE_TABLE, Param, Script, console_script, result_table

INSTALL_HINT = "the BigQuery route needs google-cloud-bigquery: pip install 'patentscope[bigquery]'"
DEFAULT_MAX_BYTES_BILLED = 50 * 10**9
GB = 10**9

# The columns of the public table each part of the script reads (what BigQuery bills).
PART_COLUMNS: dict[str, list[str]] = {
    "members": ["publication_number", "family_id", "priority_date", "filing_date", "publication_date", "country_code",
                "cpc.code"],
    "members (text)": ["title_localized.text", "title_localized.language", "abstract_localized.text",
                       "abstract_localized.language"],
    "family_publications": ["publication_number", "family_id", "publication_date"],
    "citations": ["publication_number", "publication_date", "citation.publication_number", "citation.application_number",
                  "citation.npl_text", "citation.type", "citation.category", "citation.filing_date"],
    "publications": ["publication_number", "country_code", "kind_code", "application_number", "family_id",
                     "publication_date", "filing_date", "priority_date", "grant_date", "cpc.code", "cpc.inventive",
                     "cpc.first", "assignee_harmonized.name", "assignee_harmonized.country_code",
                     "inventor_harmonized.name", "inventor_harmonized.country_code", "priority_claim.publication_number",
                     "priority_claim.application_number", "priority_claim.filing_date"],
    "families": ["family_id", "publication_number", "country_code", "priority_date", "assignee_harmonized.name"],
}


class BigQueryError(SourceError):
    """BigQuery refused or failed the job (the message says what BigQuery said). Raised as one
    of the classes below, so ``ingest --all`` tells a retry-later failure from a permanent one."""


class BigQueryUnavailableError(BigQueryError, TransientSourceError):
    """The network or the service failed (HTTP 408/5xx, backendError, a dropped connection)."""


class BigQueryQuotaError(BigQueryError, QuotaError):
    """A quota or rate limit (HTTP 429, quotaExceeded, rateLimitExceeded): run again after it resets."""


class BigQueryRejectedError(BigQueryError, PermanentSourceError):
    """BigQuery refused the request (invalid query, bytesBilledLimitExceeded, a missing table)."""


class BigQueryAuthError(BigQueryError, AuthError):
    """No usable credentials, or the project refused them (HTTP 401/403 accessDenied): exit 2."""


_QUOTA_REASONS = {"quotaExceeded", "rateLimitExceeded"}
_TRANSIENT_REASONS = {"backendError", "internalError", "jobBackendError", "jobInternalError"}
_AUTH_REASONS = {"accessDenied", "unauthorized", "authError"}
_NETWORK_ERRORS = ("ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout", "TransportError",
                   "RemoteDisconnected", "TimeoutError", "ServiceUnavailable", "RetryError")
_CREDENTIAL_ERRORS = ("DefaultCredentialsError", "RefreshError")


def _failure(what: str, e: Exception) -> BigQueryError:
    """The BigQueryError subclass for an exception of google-cloud-bigquery (or its transport):
    by BigQuery's error reason first, then the HTTP status, then the exception's kind."""
    errors = getattr(e, "errors", None) or []
    reason = str(errors[0].get("reason", "")) if errors and isinstance(errors[0], dict) else ""
    status = getattr(e, "code", None)
    status = status if isinstance(status, int) else None
    names = {c.__name__ for c in type(e).__mro__}
    msg = f"{what}: {_reason(e)}"
    cls: type[BigQueryError]
    if reason in _QUOTA_REASONS or status == 429:
        cls = BigQueryQuotaError
    elif reason in _AUTH_REASONS or status == 401 or names & set(_CREDENTIAL_ERRORS):
        cls = BigQueryAuthError
        msg += ("; check the credentials (`gcloud auth application-default login` or GOOGLE_APPLICATION_CREDENTIALS) "
                "and that [sources.bigquery] billing_project may run BigQuery jobs")
    elif reason in _TRANSIENT_REASONS or (status is not None and is_transient_status(status)):
        cls = BigQueryUnavailableError
    elif status is None and (names & set(_NETWORK_ERRORS) or isinstance(e, (ConnectionError, TimeoutError))):
        cls = BigQueryUnavailableError
    else:
        cls = BigQueryRejectedError
    return cls(msg)


class CostRefused(PatentscopeError):
    """The dry run's estimate is above max_bytes_billed and the caller did not confirm."""

    exit_code = 5


@dataclass(frozen=True)
class Pricing:
    usd_per_tib: float
    free_tib_per_month: float
    source: str
    as_of: str

    def cost(self, nbytes: int) -> float:
        return nbytes / 2**40 * self.usd_per_tib


def load_pricing() -> Pricing:
    doc = tomllib.loads(resources.files("patentscope").joinpath("data/bigquery_pricing.toml").read_text(encoding="utf-8"))
    od = doc["on_demand"]
    return Pricing(float(od["usd_per_tib"]), float(od["free_tib_per_month"]), str(od["source"]), str(od["as_of"]))


@dataclass
class BigQueryOptions:
    """``[sources.bigquery]`` of patentscope.toml (all optional)."""

    billing_project: str | None = None          # the project billed; default: the ADC's project
    location: str = "US"                        # patents-public-data lives in the US multi-region
    max_bytes_billed: int = DEFAULT_MAX_BYTES_BILLED
    scratch_dataset: str = DEFAULT_SCRATCH_DATASET
    keywords: bool | str = True                 # true; false (CPC rules only); "once": the text is read on the
                                                # first run of a landscape version, increments use the CPC rules
    overlap_days: int = 30
    since: dt.date | None = None                # first run: only publications from this date
    api_endpoint: str | None = None             # an emulator or test server instead of Google
    page_size: int | None = None                # rows per result page (paged reads)
    declare_parameters: bool = False            # DECLARE the values instead of binding them (emulators that
                                                # cannot bind parameters inside a script: bqemulator 1.4)

    @classmethod
    def from_config(cls, table: dict[str, Any], where: str = "[sources.bigquery]") -> BigQueryOptions:
        known = {f for f in cls.__dataclass_fields__}
        opts = cls()
        for k, v in table.items():
            if k == "enabled":
                continue
            if k not in known:
                raise ConfigError(f"{where}: unknown key '{k}'; known: {', '.join(sorted(known | {'enabled'}))}")
            if k in ("max_bytes_billed", "overlap_days", "page_size"):
                if isinstance(v, bool) or not isinstance(v, int) or v <= 0 and k != "overlap_days" or v < 0:
                    raise ConfigError(f"{where}.{k} must be a positive whole number, not {v!r}")
            elif k in ("keywords", "declare_parameters"):
                if not isinstance(v, bool) and not (k == "keywords" and v == "once"):
                    raise ConfigError(f"{where}.{k} must be true or false" + (' or "once"' if k == "keywords" else "")
                                      + f", not {v!r}")
            elif k == "since":
                if isinstance(v, dt.datetime):
                    v = v.date()
                elif not isinstance(v, dt.date):
                    try:
                        v = dt.date.fromisoformat(str(v))
                    except ValueError:
                        raise ConfigError(f"{where}.since must be a date YYYY-MM-DD, not {v!r}") from None
            elif not isinstance(v, str) or not v.strip():
                raise ConfigError(f"{where}.{k} must be a non-empty string, not {v!r}")
            setattr(opts, k, v)
        return opts


@dataclass
class Estimate:
    total_bytes: int                            # the dry run of the whole script
    parts: dict[str, int]                       # probe per part
    pricing: Pricing

    @property
    def bytes(self) -> int:
        return max(self.total_bytes, sum(self.parts.values()))

    def describe(self) -> str:
        lines = [f"  {name:20} {n / GB:10.1f} GB" for name, n in self.parts.items()]
        lines.append(f"  {'script (dry run)':20} {self.total_bytes / GB:10.1f} GB")
        usd = self.pricing.cost(self.bytes)
        lines.append(f"  estimate: {self.bytes / GB:.1f} GB = ${usd:,.2f} at the on-demand rate of "
                     f"${self.pricing.usd_per_tib:g}/TiB ({self.pricing.source}, as of {self.pricing.as_of}; "
                     f"the first {self.pricing.free_tib_per_month:g} TiB a month are free)")
        return "\n".join(lines)


@dataclass
class JobResult:
    job_id: str
    location: str | None
    bytes_processed: int | None
    bytes_billed: int | None
    snapshot: str | None                        # lastModifiedTime of the source table
    tables: dict[str, Any] = field(default_factory=dict)   # part -> pyarrow.Table


def _client_module() -> Any:
    try:
        from google.cloud import bigquery
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return bigquery


def probe_sql(columns: list[str]) -> str:
    """A SELECT reading exactly these columns (``rec.sub`` = a subfield of a REPEATED RECORD)."""
    exprs: list[str] = []
    for i, col in enumerate(columns):
        if "." in col:
            rec, sub = col.split(".", 1)
            exprs.append(f"(SELECT COUNT(x.{sub}) FROM UNNEST(p.{rec}) AS x) AS c{i}")
        else:
            exprs.append(f"p.{col} AS c{i}")
    return f"SELECT {', '.join(exprs)} FROM `{SOURCE_TABLE}` AS p"


class BigQueryRunner:
    """The script on BigQuery through google-cloud-bigquery (see the module docstring)."""

    def __init__(self, options: BigQueryOptions, *, client: Any = None, log: Callable[[str], None] = lambda _m: None):
        self.options = options
        self.log = log
        self.bq = _client_module()
        if client is None:
            kwargs: dict[str, Any] = {"project": options.billing_project, "location": options.location}
            if options.api_endpoint:
                from google.api_core.client_options import ClientOptions
                from google.auth.credentials import AnonymousCredentials

                kwargs["client_options"] = ClientOptions(api_endpoint=options.api_endpoint)
                kwargs["credentials"] = AnonymousCredentials()
                kwargs["project"] = options.billing_project or "patentscope-test"
            try:
                client = self.bq.Client(**kwargs)
            except Exception as e:  # google.auth.exceptions.DefaultCredentialsError and friends
                raise BigQueryAuthError(f"cannot open a BigQuery client: {type(e).__name__}: {str(e).splitlines()[0]}. "
                                  "Give credentials with `gcloud auth application-default login` (or "
                                  "GOOGLE_APPLICATION_CREDENTIALS) and a billing project with "
                                  "[sources.bigquery] billing_project") from None
        self.client = client

    def _params(self, params: list[Param]) -> list[Any]:
        out = []
        for p in params:
            if p.type.startswith("ARRAY<"):
                out.append(self.bq.ArrayQueryParameter(p.name, p.type[6:-1], list(p.value)))
            else:
                out.append(self.bq.ScalarQueryParameter(p.name, p.type, p.value))
        return out

    def _dry(self, sql: str, params: list[Param]) -> int:
        cfg = self.bq.QueryJobConfig(dry_run=True, use_query_cache=False, query_parameters=self._params(params))
        try:
            job = self.client.query(sql, job_config=cfg, location=self.options.location)
        except Exception as e:
            raise _failure("BigQuery refused the dry run", e) from None
        return int(job.total_bytes_processed or 0)

    def estimate(self, script: Script) -> Estimate:
        parts: dict[str, int] = {}
        for name, cols in PART_COLUMNS.items():
            if name == "members (text)" and not script.uses_text:
                continue
            parts[name] = self._dry(probe_sql(cols), [])
        return Estimate(self._dry(script.sql, script.params), parts, load_pricing())

    def check(self, estimate: Estimate, *, confirmed: bool) -> int:
        """The maximum_bytes_billed of the job; CostRefused above the limit unless confirmed."""
        limit = self.options.max_bytes_billed
        if estimate.bytes > limit and not confirmed:
            raise CostRefused(f"the script would scan {estimate.bytes / GB:.1f} GB "
                              f"(${estimate.pricing.cost(estimate.bytes):,.2f} on demand), more than max_bytes_billed = "
                              f"{limit / GB:.1f} GB; rerun with --yes to accept it, or raise [sources.bigquery] "
                              "max_bytes_billed, or drop the keyword part (--no-keywords) to skip the text columns")
        return max(limit, estimate.bytes) if confirmed else limit

    def run(self, script: Script, *, maximum_bytes_billed: int) -> JobResult:
        declare = self.options.declare_parameters
        cfg = self.bq.QueryJobConfig(query_parameters=[] if declare else self._params(script.params), use_query_cache=True,
                                     maximum_bytes_billed=int(maximum_bytes_billed),
                                     labels={"client": "patentscope"})
        try:
            job = self.client.query(console_script(script) if declare else script.sql, job_config=cfg,
                                    location=self.options.location)
            self.log(f"bigquery: job {job.job_id} submitted")
            job.result()
        except Exception as e:
            raise _failure("BigQuery job failed", e) from None
        tables: dict[str, Any] = {}
        for part in ("publications", "citations", "families"):
            tid = result_table(self.options.scratch_dataset, part)
            if tid.count(".") == 1:
                tid = f"{self.client.project}.{tid}"
            try:
                rows = self.client.list_rows(tid, page_size=self.options.page_size)
                tables[part] = rows.to_arrow(create_bqstorage_client=_has_storage())
            except Exception as e:
                raise _failure(f"cannot read the result table {tid}", e) from None
            self.log(f"bigquery: read {tables[part].num_rows:,} rows of {tid}")
        return JobResult(job.job_id, getattr(job, "location", None), _int(job.total_bytes_processed),
                         _int(job.total_bytes_billed), self.snapshot(), tables)

    def snapshot(self) -> str | None:
        """When the public table was last modified (its version as this run saw it)."""
        try:
            t = self.client.get_table(SOURCE_TABLE)
        except Exception:
            return None
        return t.modified.isoformat() if getattr(t, "modified", None) else None


def _int(v: Any) -> int | None:
    return int(v) if v is not None else None


def _has_storage() -> bool:
    try:
        import google.cloud.bigquery_storage  # noqa: F401
    except ImportError:
        return False
    return True


def _reason(e: Exception) -> str:
    """BigQuery's own reason and message (``bytesBilledLimitExceeded: ...``), one line."""
    errors = getattr(e, "errors", None) or []
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        return f"{first.get('reason', type(e).__name__)}: {str(first.get('message', '')).splitlines()[0][:400]}"
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return msg[:400]
