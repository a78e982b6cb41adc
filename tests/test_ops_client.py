"""The OPS client: OAuth2 tokens, traffic-light pacing, quotas, retries. No real time passes."""

import httpx
import pytest
from test_ops_support import BUSY, EP_BIBLIO, TESLA_1, TESLA_2, FakeOps, fixture, on_call

from patentscope.errors import ConfigError
from patentscope.normalize.epo_ops import parse_document
from patentscope.sources._http import FakeClock, RetryPolicy
from patentscope.sources.epo_ops import (
    OpsAuthError,
    OpsClient,
    OpsQuotaError,
    credentials_from_env,
    parse_throttling_control,
    service_for_path,
)

KEY, SECRET = "test-key-9f2c", "test-secret-4b7d"


def client(fake, clock=None, **kw):
    return OpsClient(KEY, SECRET, transport=fake.transport(), clock=clock or FakeClock(), **kw)


def test_missing_credentials_name_both_variables(monkeypatch):
    monkeypatch.delenv("EPO_OPS_KEY", raising=False)
    monkeypatch.delenv("EPO_OPS_SECRET", raising=False)
    with pytest.raises(ConfigError, match="EPO_OPS_KEY and EPO_OPS_SECRET not set") as e:
        credentials_from_env()
    assert e.value.exit_code == 2
    monkeypatch.setenv("EPO_OPS_KEY", "k")
    with pytest.raises(ConfigError, match="^EPO_OPS_SECRET not set"):
        credentials_from_env()
    monkeypatch.setenv("EPO_OPS_SECRET", "s")
    assert credentials_from_env() == ("k", "s")


def test_token_reused_until_expiry_then_refreshed():
    fake, clock = FakeOps(), FakeClock()
    with client(fake, clock) as c:
        c.family("EP.1000000.A1")
        c.legal("EP.1000000.A1")
        assert fake.tokens == 1                         # one token for both requests
        clock.t += 1200                                 # expires_in = 1199 s
        c.family("EP.1000000.A1")
        assert fake.tokens == 2
    assert fake.seen_auth == ["Bearer tok-1-secret-token-value"] * 2 + ["Bearer tok-2-secret-token-value"]


def test_token_refreshed_on_invalid_access_token_400():
    fake = FakeOps()
    with client(fake) as c:
        assert c.family("EP.1000000.A1") is not None
        fake.valid_token = "revoked-by-server"          # OPS now answers 400 invalid_access_token
        page = c.search("ti=plastic", 1, 25)
        assert page is not None and page.status == 200
    assert fake.tokens == 2


def test_refused_credentials_are_a_configuration_error():
    def handler(request):
        return httpx.Response(401, json={"error": "invalid_client"})

    with OpsClient(KEY, SECRET, transport=httpx.MockTransport(handler), clock=FakeClock()) as c:
        with pytest.raises(OpsAuthError, match="check EPO_OPS_KEY and EPO_OPS_SECRET") as e:
            c.family("EP.1000000.A1")
    assert e.value.exit_code == 2 and SECRET not in str(e.value) and KEY not in str(e.value)


def test_parse_throttling_control_recorded_values():
    s = parse_throttling_control(BUSY)   # recorded in the patent_client cassettes
    assert s.system == "busy" and s.services["search"].colour == "green" and s.services["search"].limit == 15
    assert s.services["inpadoc"].limit == 45 and s.services["retrieval"].limit == 100
    # python-epo-ops-client's test snapshot (tests/middlewares/throttle/sample/throttle_snapshot.header)
    s = parse_throttling_control("idle (images=green:200, inpadoc=yellow:50, search=green:200, other=red:5, retrieval=black:0)")
    assert (s.services["retrieval"].colour, s.services["retrieval"].limit) == ("black", 0)
    assert (s.services["other"].colour, s.services["inpadoc"].colour) == ("red", "yellow")
    assert parse_throttling_control("garbage") is None and parse_throttling_control(None) is None


def test_service_for_path():
    assert service_for_path("/3.2/rest-services/published-data/search") == "search"
    assert service_for_path("/3.2/rest-services/published-data/publication/docdb/biblio") == "retrieval"
    assert service_for_path("/3.2/rest-services/family/publication/docdb/EP.1000000.A1") == "inpadoc"
    assert service_for_path("/3.2/rest-services/legal/publication/docdb/EP.1000000.A1") == "inpadoc"
    assert service_for_path("/3.2/rest-services/published-data/images/EP/1000000/A1/fullimage") == "images"
    assert service_for_path("/3.2/auth/accesstoken") == "other"


def test_each_service_is_paced_by_its_own_light():
    fake, clock = FakeOps(throttle="busy (images=green:100, inpadoc=yellow:45, other=green:1000, retrieval=green:200, search=green:30)"), FakeClock()
    with client(fake, clock) as c:
        c.search("ti=plastic", 1, 25)
        c.family("EP.1000000.A1")          # another service: no wait
        assert clock.sleeps == []
        c.search("ti=plastic", 26, 50)     # search=green:30 -> 2 s apart
        assert clock.sleeps == [pytest.approx(2.0)]
        c.legal("EP.1000000.A1")           # inpadoc: 2 s since the family call > 60/45 s, no wait
        assert len(clock.sleeps) == 1
        c.legal("EP.1000000.A1")           # inpadoc=yellow:45 -> 60/45 s apart
        assert clock.sleeps[-1] == pytest.approx(60 / 45)


def test_black_light_waits_retry_after_milliseconds():
    fake, clock = FakeOps(throttle="busy (images=green:100, inpadoc=green:45, other=green:1000, retrieval=green:100, search=black:0)"), FakeClock()
    fake.faults.append(on_call(1, lambda r, f: f.xml(200, f.search_page("x", 1, 1), **{"Retry-After": "60000"})))
    with client(fake, clock) as c:
        c.search("x", 1, 1)
        fake.throttle = BUSY
        c.search("x", 2, 2)
    assert clock.sleeps == [pytest.approx(60.0)]


def test_403_throttling_control_quota_waits_and_retries():
    fake, clock = FakeOps(), FakeClock()
    fake.faults.append(on_call(1, lambda r, f: f.xml(403, b"<fault/>", **{"X-Rejection-Reason": "ThrottlingControlQuota",
                                                                           "Retry-After": "30000"})))
    with client(fake, clock) as c:
        assert c.family("EP.1000000.A1").status == 200
    assert clock.sleeps == [pytest.approx(30.0)]


@pytest.mark.parametrize("reason", ["RegisteredQuotaPerWeek", "IndividualQuotaPerHour", "AnonymousQuotaPerDay"])
def test_quota_403_stops_with_reason(reason):
    fake = FakeOps()
    fake.faults.append(on_call(1, lambda r, f: f.xml(403, b"<fault/>", **{"X-Rejection-Reason": reason}), times=99))
    with client(fake) as c, pytest.raises(OpsQuotaError) as e:
        c.search("x", 1, 1)
    assert e.value.reason == reason and reason in str(e.value) and "\n" not in str(e.value)
    assert fake.data_calls == 1  # a quota is not retried


def test_retries_5xx_429_timeouts_without_real_time():
    fake, clock = FakeOps(), FakeClock()
    fake.faults += [
        on_call(1, lambda r, f: f.xml(503, b"<fault/>", **{"Retry-After": "7"})),
        on_call(1, lambda r, f: f.xml(429, b"<fault/>")),
        on_call(1, lambda r, f: (_ for _ in ()).throw(httpx.ReadTimeout("timed out"))),
        on_call(1, lambda r, f: (_ for _ in ()).throw(httpx.ReadError("connection reset by peer"))),
    ]
    with client(fake, clock, policy=RetryPolicy(initial_wait=1.0)) as c:
        resp = c.family("EP.1000000.A1")
    assert resp.status == 200 and fake.data_calls == 5
    assert clock.sleeps == [7.0, 5.0, 4.0, 8.0]  # Retry-After, 429 floor, then exponential back-off


def test_truncated_body_is_retried():
    fake, clock = FakeOps(), FakeClock()
    full = fake.biblio(["EP.1000000.A1"])
    fake.faults.append(on_call(1, lambda r, f: f.xml(200, full[: len(full) // 2])))
    with client(fake, clock) as c:
        resp = c.biblio(["EP.1000000.A1"])
    assert resp.content == full and fake.data_calls == 2
    assert [d.doc.joined for d in parse_document(resp.content, "x").documents] == ["EP1000000A1"]


def test_bulk_biblio_posts_numbers_one_per_line():
    fake = FakeOps()
    with client(fake) as c:
        resp = c.biblio(["EP.1000000.B1", "JP.2005533465.A", "XX.0.A"])
    assert resp.body_note == "EP.1000000.B1,JP.2005533465.A,XX.0.A"
    assert [d.doc.joined for d in parse_document(resp.content, "x").documents] == ["EP1000000B1", "JP2005533465A"]
    with pytest.raises(ValueError):
        client(fake).biblio([f"EP.{i}.A1" for i in range(101)])
    with pytest.raises(ValueError):
        client(fake).search("x", 1901, 2001)  # beyond the 2,000 OPS serves


def test_real_recorded_pages_read_with_range():
    """The two consecutive real pages (Range=1-1, 2-2 of applicant=Tesla) through the client."""
    pages = {"1-1": fixture(TESLA_1), "2-2": fixture(TESLA_2)}
    asked = []

    def handler(request):
        if request.url.path.endswith("accesstoken"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": "1199"})
        asked.append((request.url.params["q"], request.url.params["Range"]))
        return httpx.Response(200, content=pages[request.url.params["Range"]], headers={"X-Throttling-Control": BUSY})

    with OpsClient(KEY, SECRET, transport=httpx.MockTransport(handler), clock=FakeClock()) as c:
        hits = []
        for begin in (1, 2):
            page = parse_document(c.search('applicant="Tesla"', begin, begin).content, "p").search
            assert (page.begin, page.end, page.total) == (begin, begin, 4495)
            hits += [(h.doc.joined, h.family_id) for h in page.hits]
    assert asked == [('applicant="Tesla"', "1-1"), ('applicant="Tesla"', "2-2")]
    assert hits[0] == ("US2024163973A1", "81327530") and len(hits) == 2 and hits[1] != hits[0]


def test_no_secret_in_repr_errors_or_logs():
    fake, logs = FakeOps(), []
    fake.faults.append(on_call(1, lambda r, f: f.xml(500, b"<fault><message>boom</message></fault>"), times=99))
    c = client(fake, log=logs.append, policy=RetryPolicy(attempts=2))
    assert KEY not in repr(c) and SECRET not in repr(c)
    with pytest.raises(Exception) as e:
        c.family("EP.1000000.A1")
    text = str(e.value) + repr(c) + "\n".join(logs)
    for s in (KEY, SECRET, "tok-1-secret-token-value"):
        assert s not in text
    assert "HTTP 500" in str(e.value)


def test_fixture_envelope_is_the_recorded_one():
    # the bulk envelope the fake uses is the recorded biblio response's own
    assert fixture(EP_BIBLIO).startswith(b'<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet')
