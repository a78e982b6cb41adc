"""A fake EPO OPS server for tests (no tests here): replays real recorded responses.

Everything it serves comes from tests/fixtures/epo_ops/ (real OPS responses recorded by
parkerhancock/patent_client, Apache-2.0; see PROVENANCE.md there):

- biblio: the recorded ``exchange-document`` elements, byte for byte. A bulk request for several
  numbers gets them inside one ``exchange-documents`` envelope, as OPS answers bulk requests
  (the envelope is the recorded EP1000000A1 biblio response's own);
- family and legal: the recorded responses, byte for byte;
- search: pages *derived from the real recorded search page* ``published_test_search_example.xml``:
  its envelope and its ``publication-reference`` layout, with the hits replaced by the recorded
  documents above (their real docdb numbers and DOCDB family ids), the count, range and query
  set to what was asked. Hits are filtered by the ``pd within`` window of the query using the
  documents' real publication dates, so the date-window splitting sees real dates.

What is *not* recorded and is written here: the token JSON (shape of the OPS token endpoint,
fake token strings), 404 "no results" fault bodies and the fault bodies of injected errors.
Response headers carry the X-Throttling-Control values recorded in the cassettes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import httpx

FIX = Path(__file__).resolve().parent / "fixtures" / "epo_ops"
# Recorded X-Throttling-Control values (patent_client cassettes, 22 May 2024).
IDLE = "idle (images=green:200, inpadoc=green:60, other=green:1000, retrieval=green:200, search=green:30)"
BUSY = "busy (images=green:100, inpadoc=green:45, other=green:1000, retrieval=green:100, search=green:15)"

B = "bodies/"
EP_BIBLIO = B + "published__api_test_TestPublishedBiblioApi.test_doc_example___00__published_data_publication_epodoc_EP1000000.A1_biblio.xml"
EP_FULL_CYCLE = "raw-xml/published_fixtures_ep1000000_full_cycle_result.xml"
WO2009_BIBLIO = B + "published__manager_test_TestPublished.test_get_biblio_from_w__00__published_data_publication_docdb_WO2009085664A2_biblio.xml"
WO2020_BIBLIO = B + "published__manager_test_TestPublished.test_can_handle_single__00__published_data_publication_docdb_WO2020081771_biblio.xml"
JP_BIBLIO = B + "published__manager_test_TestPublished.test_issue_41__00__published_data_publication_docdb_JP2005533465A_biblio.xml"
US2006_BIBLIO = "raw-xml/published_test_biblio_example.xml"
US2012_BIBLIO = "raw-xml/published_test_biblio_example_4.xml"
EP_FAMILY = B + "family__model_test_test_model__00__family_publication_docdb_EP1000000A1.xml"
WO_FAMILY = B + "published__manager_test_TestPublished.test_get_family_from_r__01__family_publication_docdb_WO2009085664.A2.xml"
EP_LEGAL = B + "legal__api_test_test_async_example__00__legal_publication_docdb_EP1000000A1.xml"
SEARCH_PAGE = "raw-xml/published_test_search_example.xml"
TESLA_1 = B + "published__manager_test_TestPublished.test_can_index_inpadoc__00__published_data_search.xml"
TESLA_2 = B + "published__manager_test_TestPublished.test_can_index_inpadoc__01__published_data_search.xml"


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


_DOC_RE = re.compile(rb"<exchange-document [^>]*>.*?</exchange-document>", re.S)


def exchange_documents(name: str) -> dict[str, bytes]:
    """docdb number -> the recorded exchange-document element (bytes as recorded)."""
    out = {}
    for m in _DOC_RE.finditer(fixture(name)):
        head = m.group(0)[:300].decode()
        cc = re.search(r'country="(\w+)"', head)[1]
        num = re.search(r'doc-number="(\w+)"', head)[1]
        kind = re.search(r'kind="(\w+)"', head)[1]
        out[f"{cc}.{num}.{kind}"] = m.group(0)
    return out


def recorded_documents() -> dict[str, bytes]:
    docs: dict[str, bytes] = {}
    for name in (EP_BIBLIO, EP_FULL_CYCLE, WO2009_BIBLIO, WO2020_BIBLIO, JP_BIBLIO, US2006_BIBLIO, US2012_BIBLIO):
        for k, v in exchange_documents(name).items():
            docs.setdefault(k, v)
    return docs


def _hit_facts(element: bytes) -> tuple[str, dt.date]:
    fam = re.search(rb'family-id="(\d+)"', element)[1].decode()
    date = re.search(rb"<publication-reference>.*?<date>(\d{8})</date>", element, re.S)[1].decode()
    return fam, dt.date(int(date[:4]), int(date[4:6]), int(date[6:]))


NOT_FOUND = (b'<?xml version="1.0" encoding="UTF-8"?><fault xmlns="http://ops.epo.org"><code>SERVER.EntityNotFound</code>'
             b"<message>No results found</message></fault>")
TOKEN_EXPIRED = (b'<?xml version="1.0" encoding="UTF-8"?><fault xmlns="http://ops.epo.org"><code>CLIENT.InvalidAccessToken</code>'
                 b"<message>invalid_access_token</message></fault>")

Fault = Callable[[httpx.Request, "FakeOps"], httpx.Response | None]


class FakeOps:
    """httpx.MockTransport handler playing OPS from the recorded responses."""

    def __init__(self, *, throttle: str = IDLE, docs: list[str] | None = None):
        self.docs = recorded_documents()
        wanted = docs or sorted(self.docs)
        self.hits = [(d, *_hit_facts(self.docs[d])) for d in wanted]   # (docdb, family, pub date)
        self.families = {"EP.1000000.A1": fixture(EP_FAMILY), "WO.2009085664.A2": fixture(WO_FAMILY)}
        self.legal = {"EP.1000000.A1": fixture(EP_LEGAL)}
        self.throttle = throttle
        self.calls: list[tuple[str, str]] = []
        self.data_calls = 0
        self.tokens = 0
        self.valid_token: str | None = None
        self.faults: list[Fault] = []
        self.seen_auth: list[str] = []

    # -- helpers -------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def xml(self, status: int, content: bytes, **headers: str) -> httpx.Response:
        return httpx.Response(status, content=content,
                              headers={"Content-Type": "application/xml;charset=utf-8", "X-Throttling-Control": self.throttle,
                                       **headers})

    def search_page(self, cql: str, begin: int, end: int) -> bytes:
        m = re.search(r'pd within "(\d+) (\d+)"', cql)

        def day(s: str, last: bool) -> dt.date:
            if len(s) == 4:
                return dt.date(int(s), 12, 31) if last else dt.date(int(s), 1, 1)
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))

        hits = self.hits
        if m:
            lo, hi = day(m[1], False), day(m[2], True)
            hits = [h for h in hits if lo <= h[2] <= hi]
        page = hits[begin - 1:end]
        text = fixture(SEARCH_PAGE).decode()
        template = re.search(r"( *)<ops:publication-reference .*?</ops:publication-reference>\n", text, re.S)[0]
        blocks = []
        for docdb, fam, _d in page:
            cc, num, kind = docdb.split(".")
            b = re.sub(r'family-id="\d+"', f'family-id="{fam}"', template)
            b = re.sub(r"<country>\w+</country>", f"<country>{cc}</country>", b)
            b = re.sub(r"<doc-number>\w+</doc-number>", f"<doc-number>{num}</doc-number>", b)
            b = re.sub(r"<kind>\w+</kind>", f"<kind>{kind}</kind>", b)
            blocks.append(b)
        start = text.index("<ops:search-result>") + len("<ops:search-result>\n")
        stop = text.index("</ops:search-result>")
        text = text[:start] + "".join(blocks) + "        " + text[stop:]
        text = re.sub(r'total-result-count="\d+"', f'total-result-count="{len(hits)}"', text)
        text = re.sub(r'<ops:range begin="\d+" end="\d+"/>', f'<ops:range begin="{begin}" end="{begin + len(page) - 1}"/>', text)
        text = re.sub(r'<ops:query syntax="CQL">.*?</ops:query>',
                      lambda _m: f'<ops:query syntax="CQL">{cql.replace("&", "&amp;").replace("<", "&lt;")}</ops:query>', text)
        return text.encode()

    def biblio(self, numbers: list[str]) -> bytes | None:
        found = [self.docs[n] for n in numbers if n in self.docs]
        if not found:
            return None
        env = fixture(EP_BIBLIO)
        head = env[: env.index(b"<exchange-documents>") + len(b"<exchange-documents>")]
        tail = env[env.index(b"</exchange-documents>"):]
        return head + b"\n        " + b"\n        ".join(found) + b"\n    " + tail

    # -- the handler -----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append((request.method, path + ("?" + request.url.query.decode() if request.url.query else "")))
        if path.endswith("/auth/accesstoken"):
            assert request.method == "POST" and request.headers["Authorization"].startswith("Basic ")
            assert request.content == b"grant_type=client_credentials"
            self.tokens += 1
            self.valid_token = f"tok-{self.tokens}-secret-token-value"
            return httpx.Response(200, json={"access_token": self.valid_token, "expires_in": "1199", "token_type": "BearerToken",
                                             "issued_at": "1716394437000", "status": "approved"})
        self.data_calls += 1
        for fault in list(self.faults):
            r = fault(request, self)
            if r is not None:
                return r
        auth = request.headers.get("Authorization", "")
        self.seen_auth.append(auth)
        if auth != f"Bearer {self.valid_token}":
            return self.xml(400, TOKEN_EXPIRED)
        rest = path.split("/rest-services/", 1)[1]
        if rest == "published-data/search":
            q = request.url.params["q"]
            b, e = (int(x) for x in request.url.params["Range"].split("-"))
            assert e - b + 1 <= 100 and e <= 2000
            return self.xml(200, self.search_page(q, b, e))
        if rest == "published-data/publication/docdb/biblio":
            assert request.method == "POST"
            body = self.biblio(request.content.decode().split("\n"))
            return self.xml(200, body) if body else self.xml(404, NOT_FOUND)
        m = re.fullmatch(r"(family|legal)/publication/docdb/(.+)", rest)
        if m:
            table = self.families if m[1] == "family" else self.legal
            body = table.get(m[2])
            return self.xml(200, body) if body else self.xml(404, NOT_FOUND)
        return self.xml(404, NOT_FOUND)


def on_call(n: int, make: Callable[[httpx.Request, FakeOps], httpx.Response], *, times: int = 1,
            when: Callable[[httpx.Request], bool] = lambda r: True) -> Fault:
    """A fault that answers the n-th matching data call (and the next ``times - 1``) with ``make``."""
    state = {"seen": 0, "fired": 0}

    def fault(request: httpx.Request, fake: FakeOps) -> httpx.Response | None:
        if request.url.path.endswith("/auth/accesstoken") or not when(request):
            return None
        state["seen"] += 1
        if state["seen"] >= n and state["fired"] < times:
            state["fired"] += 1
            return make(request, fake)
        return None

    return fault
