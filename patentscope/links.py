"""Canonical public pages of a publication, generated from its number, and a check of source links.

The page a record was transcribed from is provenance (kept as "source"); the link a reader
follows should be the canonical public record. :func:`canonical_links` builds, for every
office, Google Patents and Espacenet links plus the official register or publication server
where one takes a number in its address:

- US: USPTO Patent Public Search (``ppubs.uspto.gov``, ``external.html?q=NUMBER.pn.``) and,
  when the application number is known, USPTO Patent Center (``patentcenter.uspto.gov``);
- EP: the European Patent Register (``register.epo.org``; by application number when known,
  else the Register's smart search on the publication number);
- JP: J-PlatPat's fixed document address (``j-platpat.inpit.go.jp/c1801/PU/JP-…/11|15/ja``:
  11 = unexamined publication, 15 = granted patent; INPIT, since February 2024);
- CN: CNIPA's publication search (``epub.cnipa.gov.cn``), which has no per-number address:
  the link opens the search, the label says which number to enter;
- WO: WIPO PATENTSCOPE.

:func:`check_link` classifies any link's host as an official office, a known patent
service, or neither — with the reason for the warning (a web proxy wrapping another address,
a bare IP address, a look-alike of a known domain).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .normalize.numbers import parse_pub_number

# registrable domains of patent offices (a host is official when it is one of these or under one)
OFFICIAL_DOMAINS: dict[str, str] = {
    "uspto.gov": "USPTO", "epo.org": "European Patent Office", "wipo.int": "WIPO",
    "inpit.go.jp": "INPIT (J-PlatPat)", "jpo.go.jp": "Japan Patent Office", "cnipa.gov.cn": "CNIPA",
    "dpma.de": "DPMA", "kipo.go.kr": "KIPO", "kipris.or.kr": "KIPRIS (KIPO)",
    "ipaustralia.gov.au": "IP Australia", "ipo.gov.uk": "UK IPO", "inpi.fr": "INPI",
    "tipo.gov.tw": "TIPO", "rospatent.gov.ru": "Rospatent", "fips.ru": "Rospatent (FIPS)",
}
# established patent search services (not offices, but they show the office's publication)
KNOWN_SERVICES: dict[str, str] = {
    "patents.google.com": "Google Patents", "patentimages.storage.googleapis.com": "Google Patents images",
    "espacenet.com": "Espacenet (EPO)", "lens.org": "Lens.org", "patents.justia.com": "Justia Patents",
    "freepatentsonline.com": "FreePatentsOnline", "patentsview.org": "PatentsView",
}
_BRANDS = ("google", "googleapis", "cloudfront", "espacenet", "uspto", "wipo", "epo", "lens", "justia", "jplatpat", "cnipa")
_GOOGLE_SKELETON = re.compile(r"^g[lo0]{1,3}g[lo0]{0,2}l?e?$")  # glgoo, goggle, g00gle: typo-squats of google


@dataclass(frozen=True)
class Link:
    label: str          # "Google Patents", "USPTO Patent Public Search", ...
    url: str
    kind: str           # "register" (an office), "service" (a patent search service), "source" (the transcribed page)
    host_class: str     # "official" | "known_service" | "other"
    warning: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _domain_match(host: str, domains: dict[str, str]) -> str | None:
    for d, name in domains.items():
        if host == d or host.endswith("." + d):
            return name
    return None


def _google_patents_path(host: str, path: str) -> bool:
    # old Google Patents addresses: www.google.<tld>/patents/US4770723
    return bool(re.fullmatch(r"(www\.)?google\.[a-z.]{2,6}", host)) and path.startswith("/patents")


def _wrapped_url(url: str) -> str | None:
    """The address a proxy page wraps: in its path (``/http://...``) or a (base64) query value."""
    parts = urlsplit(url)
    m = re.search(r"/(https?:/{1,2}.+)$", parts.path)
    if m:
        return m.group(1)
    for _, v in parse_qsl(parts.query):
        v = unquote(v)
        if re.match(r"https?://", v):
            return v
        if re.fullmatch(r"[A-Za-z0-9+/_-]{16,}={0,2}", v):
            try:
                dec = base64.b64decode(v + "=" * (-len(v) % 4), altchars=b"-_", validate=False).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
            if re.match(r"https?://[\x21-\x7e]+$", dec):
                return dec
    return None


def _lookalike(host: str) -> str | None:
    """The known name a host imitates: a label that is the name (uspto.report), contains a long
    one (cloudfrontnetl.store) or is one or two letters off (goggle, glgoo)."""
    labels = [lab for lab in re.split(r"[.\-]", host) if lab]
    for lab in labels:
        if lab != "google" and _GOOGLE_SKELETON.match(lab):
            return "google"
        for brand in _BRANDS:
            if lab == brand or (len(brand) >= 5 and brand in lab) or \
                    (len(lab) >= 5 and difflib.SequenceMatcher(None, lab, brand).ratio() >= 0.8):
                return brand
    return None


def check_link(url: str | None) -> tuple[str, str | None]:
    """``(host_class, warning)`` of a link: "official" and "known_service" carry no warning."""
    if not url:
        return "other", "no address"
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return "other", f"not a web address ({parts.scheme or 'no scheme'})"
    try:
        ipaddress.ip_address(host)
        return "other", f"bare IP address {host}: not an official office or a known patent service"
    except ValueError:
        pass
    inner = _wrapped_url(url)
    office = _domain_match(host, OFFICIAL_DOMAINS)
    service = _domain_match(host, KNOWN_SERVICES) or ("Google Patents (old address)" if _google_patents_path(host, parts.path) else None)
    if inner and (office or service) is None:
        brand = _lookalike(host)
        where = f"{host}, a look-alike of {brand}," if brand else host
        return "other", f"web proxy or mirror on {where} wrapping {inner[:120]}: not an official office or a known patent service"
    if office:
        return "official", None
    if service:
        return "known_service", None
    brand = _lookalike(host)
    if brand:
        return "other", f"{host} looks like {brand} but is not its domain: not an official office or a known patent service"
    return "other", f"{host} is not an official office or a known patent service"


def source_link(url: str | None, label: str = "transcribed page (source)") -> Link | None:
    if not url:
        return None
    cls, warning = check_link(url)
    return Link(label, url, "source", cls, warning)


def _jplatpat_id(number: str, kind: str | None) -> tuple[str, str] | None:
    """(document id, type code) of J-PlatPat's fixed address, or None where the form is unknown."""
    m = re.fullmatch(r"([SHR])(\d{2})(\d{1,6})", number)  # era-year publications: JP-H083783 -> JP-H08-003783
    if m and (kind or "A").startswith("A"):
        return f"JP-{m.group(1)}{m.group(2)}-{int(m.group(3)):06d}", "11"
    m = re.fullmatch(r"(\d{4})(\d{6})", number)  # JP-2015023285 -> JP-2015-023285
    if m and (kind or "A").startswith("A"):
        return f"JP-{m.group(1)}-{m.group(2)}", "11"
    if re.fullmatch(r"\d{7}", number) and (kind or "B").startswith("B"):  # granted patents JP-7243802 B2
        return f"JP-{number}", "15"
    return None


def _us_application(app: str | None) -> str | None:
    if not app:
        return None
    digits = re.sub(r"\D", "", app)
    return digits if len(digits) == 8 else None


def _ep_application(app: str | None) -> str | None:
    if not app:
        return None
    m = re.search(r"(\d{8})(?:\.\d)?", app.replace(" ", ""))
    return m.group(1) if m else None


def canonical_links(number: str, *, application_number: str | None = None) -> list[Link]:
    """The canonical public pages of a publication number (``US-4770723-A``, ``US4770723A``, ...).

    Every office gets Google Patents and Espacenet; US, EP, JP, CN and WO also their office's
    page. Returns [] for text that is not a publication number."""
    p = parse_pub_number(number)
    if p is None:
        return []
    cc, num, kind = p.country, p.number, p.kind or ""
    compact = f"{cc}{num}{kind}"
    out = [
        Link("Google Patents", f"https://patents.google.com/patent/{quote(compact)}/en", "service", "known_service"),
        Link("Espacenet", f"https://worldwide.espacenet.com/patent/search?q=pn%3D{quote(cc + num)}", "service", "known_service"),
    ]
    if cc == "US":
        out.append(Link("USPTO Patent Public Search", f"https://ppubs.uspto.gov/pubwebapp/external.html?q={quote(num)}.pn.",
                        "register", "official"))
        app = _us_application(application_number)
        if app:
            out.append(Link("USPTO Patent Center", f"https://patentcenter.uspto.gov/applications/{app}", "register", "official"))
    elif cc == "EP":
        app = _ep_application(application_number)
        url = (f"https://register.epo.org/application?number=EP{app}&lng=en" if app
               else f"https://register.epo.org/smartSearch?searchMode=smart&query={quote(cc + num)}&lng=en")
        out.append(Link("European Patent Register", url, "register", "official"))
    elif cc == "JP":
        jp = _jplatpat_id(num, p.kind)
        if jp:
            out.append(Link("J-PlatPat", f"https://www.j-platpat.inpit.go.jp/c1801/PU/{jp[0]}/{jp[1]}/ja", "register", "official"))
        else:
            out.append(Link(f"J-PlatPat (number search: enter {cc}{num})", "https://www.j-platpat.inpit.go.jp/p0000",
                            "register", "official"))
    elif cc == "CN":
        out.append(Link(f"CNIPA publication search (enter {cc}{num}{kind})", "https://epub.cnipa.gov.cn/", "register", "official"))
    elif cc == "WO":
        out.append(Link("WIPO PATENTSCOPE", f"https://patentscope.wipo.int/search/en/detail.jsf?docId={quote(cc + num)}",
                        "register", "official"))
    return out


def record_links(pub_number: str, source_url: str | None, application_number: str | None = None) -> list[dict[str, Any]]:
    """Canonical links first, then the transcribed page as "source" (with its warning, if any)."""
    links = canonical_links(pub_number, application_number=application_number)
    src = source_link(source_url)
    return [ln.as_dict() for ln in [*links, *([src] if src else [])]]
