"""Expiry engine: expected expiry, status at any date and a calculation log per publication.

Pure polars: frames in, frames out; every rule parameter comes from the term-rules file
(``patentscope/data/term_rules.toml``, see :mod:`.rules` and docs/expiry.md).

Inputs (columns as in the warehouse tables, docs/schema.md; missing optional columns are nulls):

* ``publications``: pub_key, pub_number, country, doc_number, kind, kinds_seen, priority_date,
  filing_date, publication_date, grant_date, family_id
* ``term_inputs``: pub_key, source, application_type, earliest_us_filing_date,
  international_filing_date, pta_days, pte_days, terminal_disclaimer, disclaimer_expiry_date
* ``legal_events``: pub_key, jurisdiction, event_date, event_code, effect, source

Output of :func:`compute_expiry`: one row per publication and jurisdiction (the office; for a
granted EP patent also one row per national jurisdiction that legal events name, or that the
caller asks for with ``markets``), see ``EXPIRY_COLUMNS``. Dates are calendar dates; a patent
is in force on the days before its ``expiry_date`` (term_rules.toml ``[conventions]``).

Statuses: ``not yet filed`` (the date asked is before the filing), ``pending`` (an application,
or a patent before its grant date), ``in force``, ``expired by term``, ``lapsed`` (ended early
by a legal event: fee lapse, revocation, withdrawal), ``unknown`` (bad or missing input, said
in the log; never a guess).

The in-force stock and the holders' cliffs (:func:`in_force_stock`, :func:`holder_cliffs`)
count FAMILIES (``family_id``), never documents. :func:`refresh` recomputes everything and
stores it in the warehouse in one transaction.

The package follows the engine's stages; each module is one of them:

* :mod:`.common`: schemas, output columns, the small polars helpers
* :mod:`.prepare`: stage 1, the input frames made ready
* :mod:`.classify`: stage 2, document type, dates, continuity candidates, flags
* :mod:`.terms`: stage 3, the term, its interval and the date-independent log
* :mod:`.events`: stage 4, jurisdictions and legal events
* :mod:`.status`: stage 5, combine, and the status at any date
* :mod:`.weigh`: the record's own status evidence weighed against the computed term
* :mod:`.engine`: :func:`compute_expiry`, the stages in order
* :mod:`.stock`: in-force stock and holder cliffs
* :mod:`.warehouse`: :func:`load_inputs` and :func:`refresh`
"""

from __future__ import annotations

from .common import (
    ALL_JURISDICTIONS,
    EVENT_SCHEMA,
    EXPIRY_COLUMNS,
    GRANTED_TYPES,
    HEADLINE_RULES,
    HOLDER_SCHEMA,
    NO_HOLDER,
    PRIORITY_SCHEMA,
    PUB_SCHEMA,
    STATUSES,
    TERM_INPUT_SCHEMA,
)
from .engine import compute_expiry, public_columns
from .status import status_at
from .stock import holder_cliffs, in_force_stock, live_families, live_spans
from .warehouse import ExpiryStats, load_inputs, refresh

__all__ = [
    "ALL_JURISDICTIONS", "EVENT_SCHEMA", "EXPIRY_COLUMNS", "GRANTED_TYPES", "HEADLINE_RULES", "HOLDER_SCHEMA",
    "NO_HOLDER", "PRIORITY_SCHEMA", "PUB_SCHEMA", "STATUSES", "TERM_INPUT_SCHEMA", "ExpiryStats", "compute_expiry",
    "holder_cliffs", "in_force_stock", "live_families", "live_spans", "load_inputs", "public_columns", "refresh", "status_at",
]
