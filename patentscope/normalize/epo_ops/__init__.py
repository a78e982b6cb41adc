"""EPO OPS XML -> canonical rows (pure: bytes in, Batch out, no network, no database).

Three modules: :mod:`.parse` (safe XML parsing, numbers, the parsed structures), :mod:`.legal`
(legal-event effects) and :mod:`.rows` (parsed structures -> a Batch); this package re-exports
their public names.

What is read, from which OPS responses (OPS 3.2, namespaces ``http://www.epo.org/exchange`` and
``http://ops.epo.org``):

- ``published-data/search`` (``ops:biblio-search``): total count, range, and per hit the docdb
  country/number/kind and the DOCDB ``family-id``.
- ``published-data/.../biblio`` and ``full-cycle`` (``exchange-documents``): per document the
  docdb and epodoc numbers, kind and dates, titles and abstracts per language, the application
  reference, priority claims, applicants and inventors in both ``epodoc`` and ``original``
  form, IPCR and CPC (``patent-classification`` with section/class/subclass/main-group/subgroup),
  references cited with category (X/Y/A...), cited phase and cited-by, and ``family-id``.
- ``family/publication/...`` (``ops:patent-family``): the INPADOC family members, each with its
  own DOCDB ``family-id``, application reference and priority claims.
- ``legal/publication/...`` (``ops:patent-family legal="true"``): INPADOC legal events
  (``ops:legal`` with code, description, influence and the ``L001EP``... fields).

XML is parsed with defusedxml: a DTD, entity declarations (billion laughs) or external
entities are refused with a clear error, never expanded or fetched. A well-formed document
with missing optional parts never raises; a document missing what identifies it (no
publication number) is reported as a rejected row.

Mapping decisions (documented in docs/ingest-world.md):

- ``pub_key``/``pub_number`` from the docdb country, number and kind. DOCDB writes US pre-grant
  publications with 10 digits (``US 2006142694 A1``); they are widened to the 11-digit form
  every other source uses (``US-20060142694``) so the same document joins across sources.
- ``family_id`` is the DOCDB simple family id OPS gives (``family_id_source = 'docdb'``); INPADOC
  (extended) family membership is kept as ``field_values`` rows ``inpadoc_family_member``: the
  queried publication lists every member, each member names the queried publication (linear in
  the family's size), and every member becomes a publication row with its own DOCDB family id.
- Parties: ``name_as_written`` is the ``original`` form (as the office printed it, trailing
  commas removed), ``country`` comes from the ``epodoc`` form's ``[CC]`` suffix; both lists are
  kept whole in ``field_values`` (``applicant``/``applicant_original``, ``inventor``/
  ``inventor_original``). OPS has no "assignee": applicants get role ``applicant``; on a granted
  EP document (kind B*) the applicants are the proprietors at grant, so they are also written as
  ``original_assignee``.
- Legal events: ``event_code`` is the INPADOC code (``PG25``) or, for ``REG`` events, ``REG/``
  plus the national code (``REG/MM4A``); ``jurisdiction`` is the referenced country (``L501``),
  else the country prefix of the description (``GB: ...``), else ``L001``; ``event_date`` is the
  effective date (``L525``) when given, else the gazette date (``L007``); ``effect`` follows
  :func:`legal_effect`.
"""

from __future__ import annotations

from .legal import (
    legal_effect,
)
from .parse import (
    FAMILY_NOTE,
    NS_EXCHANGE,
    NS_OPS,
    SOURCE,
    BiblioDoc,
    CitedRef,
    DocNumber,
    FamilyMember,
    FamilyResponse,
    LegalEvent,
    ParsedOps,
    Party,
    PriorityClaim,
    SearchHit,
    SearchPage,
    canonical_number,
    parse_document,
    parse_exchange_document,
    parse_xml,
)
from .rows import (
    build_batch,
    espacenet_url,
    minimal_keys,
    without,
)

__all__ = [
    "BiblioDoc",
    "CitedRef",
    "DocNumber",
    "FAMILY_NOTE",
    "FamilyMember",
    "FamilyResponse",
    "LegalEvent",
    "NS_EXCHANGE",
    "NS_OPS",
    "ParsedOps",
    "Party",
    "PriorityClaim",
    "SOURCE",
    "SearchHit",
    "SearchPage",
    "build_batch",
    "canonical_number",
    "espacenet_url",
    "legal_effect",
    "minimal_keys",
    "parse_document",
    "parse_exchange_document",
    "parse_xml",
    "without",
]
