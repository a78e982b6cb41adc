"""Canonical links per office, and the warnings on transcribed pages' hosts (the sample's real ones)."""

from __future__ import annotations

import pytest

from patentscope.links import canonical_links, check_link, record_links


def urls(number: str, app: str | None = None) -> dict[str, str]:
    return {ln.label: ln.url for ln in canonical_links(number, application_number=app)}


def test_us_links():
    u = urls("US-4770723-A", "US07/013165")
    assert u["Google Patents"] == "https://patents.google.com/patent/US4770723A/en"
    assert u["Espacenet"] == "https://worldwide.espacenet.com/patent/search?q=pn%3DUS4770723"
    assert u["USPTO Patent Public Search"] == "https://ppubs.uspto.gov/pubwebapp/external.html?q=4770723.pn."
    assert u["USPTO Patent Center"] == "https://patentcenter.uspto.gov/applications/07013165"
    assert "USPTO Patent Center" not in urls("US20130160896A1")  # no application number known


def test_ep_links():
    assert urls("EP1005050A3", "99123531.8")["European Patent Register"] == \
        "https://register.epo.org/application?number=EP99123531&lng=en"
    assert urls("EP-0657899-B1")["European Patent Register"] == \
        "https://register.epo.org/smartSearch?searchMode=smart&query=EP0657899&lng=en"


@pytest.mark.parametrize(("number", "url"), [
    ("JP-2015023285-A", "https://www.j-platpat.inpit.go.jp/c1801/PU/JP-2015-023285/11/ja"),
    ("JPH083783A", "https://www.j-platpat.inpit.go.jp/c1801/PU/JP-H08-003783/11/ja"),
    ("JP-4523620-B2", "https://www.j-platpat.inpit.go.jp/c1801/PU/JP-4523620/15/ja"),
])
def test_jp_links(number, url):
    assert urls(number)["J-PlatPat"] == url


def test_cn_wo_and_other_offices():
    cn = {ln.label: ln for ln in canonical_links("CN-112768168-B")}
    assert cn["CNIPA publication search (enter CN112768168B)"].url == "https://epub.cnipa.gov.cn/"
    assert urls("WO-2016025792-A1")["WIPO PATENTSCOPE"] == "https://patentscope.wipo.int/search/en/detail.jsf?docId=WO2016025792"
    assert set(urls("KR-20100137859-A")) == {"Google Patents", "Espacenet"}
    assert canonical_links("not a number") == []
    for ln in canonical_links("US4770723A") + canonical_links("JP2015023285A") + canonical_links("EP1005050"):
        assert check_link(ln.url) == (ln.host_class, None), ln


@pytest.mark.parametrize(("url", "words"), [
    # the sample's own transcribed pages
    ("http://veesta.com/p5/index.php?q=aHR0cHM6Ly9wYXRlbnRzLmdvb2dsZS5jb20vcGF0ZW50L1VTNDc3MDcyM0EvZW4%3D",
     "web proxy or mirror on veesta.com wrapping https://patents.google.com/patent/US4770723A/en"),
    ("https://dyto08wqdmna.cloudfrontnetl.store/http://rdf.ncbi.nlm.nih.gov/pubchem/patent/JP-2015023285-A",
     "web proxy or mirror on dyto08wqdmna.cloudfrontnetl.store, a look-alike of cloudfront, wrapping http://rdf.ncbi.nlm.nih.gov/"),
    ("http://79.170.44.78/downloads/vpn/x.html", "bare IP address 79.170.44.78"),
    ("https://patents.glgoo.top/patent/US5000000A", "looks like google"),
    ("https://uspto.report/patent/grant/6527874", "looks like uspto"),
    ("https://cloudfrontnetl.store/x", "looks like cloudfront"),
    ("https://patentindex.ai/x", "not an official office or a known patent service"),
    ("javascript:alert(1)", "not a web address"),
])
def test_warnings(url, words):
    cls, warning = check_link(url)
    assert cls == "other" and warning is not None and words in warning


@pytest.mark.parametrize(("url", "cls"), [
    ("https://patentsgazette.uspto.gov/week35/OG/html/1400-1/US09000000-20150407.html", "official"),
    ("https://data.epo.org/publication-server/document?iDocId=1", "official"),
    ("https://patents.google.com/patent/US4770723A/en", "known_service"),
    ("https://www.google.es/patents/US4770723", "known_service"),
    ("https://patents.justia.com/patent/4770723", "known_service"),
])
def test_trusted_hosts(url, cls):
    assert check_link(url) == (cls, None)


def test_record_links_keep_the_source_last():
    links = record_links("US-4770723-A", "http://79.170.44.78/downloads/vpn/p.html")
    assert links[0]["label"] == "Google Patents" and links[-1]["kind"] == "source" and links[-1]["warning"]
    assert all(ln["warning"] is None for ln in links[:-1])
