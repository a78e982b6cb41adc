"""Retry and pacing transports with a fake clock: back-off costs no real time."""

import httpx
import pytest

from patentscope.sources._http import (
    FakeClock,
    GaveUpError,
    PacingTransport,
    RetryPolicy,
    RetryTransport,
    json_body_ok,
    make_client,
    parse_retry_after,
    redact,
)


def scripted(*steps):
    """A MockTransport that plays the given steps in order: a Response factory or an exception."""
    calls = []

    def handler(request):
        i = len(calls)
        calls.append(request)
        step = steps[min(i, len(steps) - 1)]
        if isinstance(step, Exception):
            raise step
        return step()

    return httpx.MockTransport(handler), calls


def ok():
    return httpx.Response(200, json={"ok": True})


def test_429_without_retry_after_waits_at_least_5s():
    clock = FakeClock()
    t, calls = scripted(lambda: httpx.Response(429, json={"message": "Too Many Requests"}), ok)
    with make_client(RetryTransport(t, clock=clock)) as c:
        assert c.get("https://x.test/a").json() == {"ok": True}
    assert len(calls) == 2 and clock.sleeps == [5.0]


def test_retry_after_seconds_and_http_date_honoured():
    clock = FakeClock()
    t, calls = scripted(lambda: httpx.Response(503, headers={"Retry-After": "17"}), ok)
    with make_client(RetryTransport(t, clock=clock)) as c:
        c.get("https://x.test/a")
    assert clock.sleeps == [17.0]
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", clock.start) == 60.0
    assert parse_retry_after("garbage", clock.start) is None


def test_exponential_backoff_on_5xx_timeouts_resets():
    clock = FakeClock()
    req_err = httpx.ReadTimeout("timed out")
    reset = httpx.ReadError("connection reset by peer")
    t, calls = scripted(lambda: httpx.Response(500), req_err, reset, ok)
    with make_client(RetryTransport(t, RetryPolicy(initial_wait=1.0), clock=clock)) as c:
        assert c.get("https://x.test/a").status_code == 200
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_empty_and_truncated_bodies_are_retried():
    clock = FakeClock()
    t, calls = scripted(lambda: httpx.Response(200, content=b""), lambda: httpx.Response(200, content=b'{"count": 3, "pat'), ok)
    with make_client(RetryTransport(t, clock=clock, validate=json_body_ok)) as c:
        assert c.get("https://x.test/a").json() == {"ok": True}
    assert len(calls) == 3


def test_gives_up_with_last_response_or_error():
    clock = FakeClock()
    t, calls = scripted(lambda: httpx.Response(503))
    with make_client(RetryTransport(t, RetryPolicy(attempts=3), clock=clock)) as c:
        assert c.get("https://x.test/a").status_code == 503
    assert len(calls) == 3
    t, calls = scripted(httpx.ConnectError("refused"))
    with make_client(RetryTransport(t, RetryPolicy(attempts=2), clock=clock)) as c, pytest.raises(GaveUpError):
        c.get("https://x.test/a?api_key=SECRET")


def test_long_retry_after_is_returned_not_waited():
    clock = FakeClock()
    t, calls = scripted(lambda: httpx.Response(429, headers={"Retry-After": "86400"}))
    with make_client(RetryTransport(t, clock=clock)) as c:
        assert c.get("https://x.test/a").status_code == 429
    assert clock.sleeps == [] and len(calls) == 1


def test_pacing_spaces_requests():
    clock = FakeClock()
    t, calls = scripted(ok)
    with make_client(PacingTransport(t, min_interval=0.25, clock=clock)) as c:
        for _ in range(4):
            c.get("https://x.test/a")
    assert clock.sleeps == [0.25, 0.25, 0.25]


def test_redact_hides_credentials():
    assert redact("https://u:p@api.test/x?q=1&api_key=SECRET&token=T") == "https://api.test/x?q=1&api_key=REDACTED&token=REDACTED"


def test_redact_presigned_urls():
    url = "https://bucket.s3.amazonaws.com/f.zip?X-Amz-Credential=AKIAXXX&X-Amz-Security-Token=T&X-Amz-Signature=S&part=1"
    out = redact(url)
    assert "AKIA" not in out and "=T" not in out and "=S" not in out and "part=1" in out


def test_odp_client_does_not_follow_redirects_with_its_key():
    from patentscope.sources.uspto_odp import OdpClient
    seen = []

    def handler(request):
        seen.append((request.url.host, request.headers.get("X-API-KEY")))
        return httpx.Response(302, headers={"Location": "https://other-host.example/landing"})

    client = OdpClient(api_key="MYSECRETKEY", transport=httpx.MockTransport(handler), clock=FakeClock())
    try:
        client.http.get("/api/v1/patent/applications/17248024")
    finally:
        client.close()
    assert all(host != "other-host.example" for host, _ in seen)
