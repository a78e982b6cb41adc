"""Source errors sit in the error tree with a transient/permanent class the jobs read (not the
message): the OPS token endpoint answering 503, ODP quotas, refused keys, 4xx refusals."""

from __future__ import annotations

import httpx
import pytest

from patentscope import jobs
from patentscope.errors import (
    AuthError,
    ConfigError,
    PatentscopeError,
    PermanentSourceError,
    QuotaError,
    SourceError,
    TransientSourceError,
    http_error,
)
from patentscope.sources._http import FakeClock, RetryPolicy
from patentscope.sources.epo_ops import OpsAuthError, OpsClient, OpsError
from patentscope.sources.uspto_odp import OdpAuthError, OdpClient, OdpError

KEY, SECRET = "test-key-NOT-REAL", "test-secret-NOT-REAL"


def test_the_tree():
    assert issubclass(SourceError, PatentscopeError) and not issubclass(SourceError, ConfigError)
    assert issubclass(QuotaError, TransientSourceError) and QuotaError.transient
    assert issubclass(AuthError, PermanentSourceError) and issubclass(AuthError, ConfigError)
    assert AuthError.exit_code == 2 and SourceError.exit_code == 1 and not PermanentSourceError.transient
    assert [http_error(s) for s in (400, 404, 408, 429, 500, 503)] == [
        PermanentSourceError, PermanentSourceError, TransientSourceError, TransientSourceError,
        TransientSourceError, TransientSourceError]


def ops_client(status: int) -> OpsClient:
    return OpsClient(KEY, SECRET, transport=httpx.MockTransport(lambda r: httpx.Response(status, text="busy")),
                     clock=FakeClock(), policy=RetryPolicy(attempts=1))


def test_ops_token_endpoint_503_is_a_transient_source_failure_not_configuration():
    with ops_client(503) as c, pytest.raises(OpsError) as e:
        c.family("EP.1000000.A1")
    assert isinstance(e.value, TransientSourceError) and not isinstance(e.value, ConfigError)
    assert jobs._kind(e.value) == "source"
    with ops_client(401) as c, pytest.raises(OpsAuthError) as e2:
        c.family("EP.1000000.A1")
    assert isinstance(e2.value, AuthError) and jobs._kind(e2.value) == "config"


def odp_client(status: int, attempts: int = 1) -> OdpClient:
    return OdpClient(KEY, transport=httpx.MockTransport(lambda r: httpx.Response(status, json={"message": "m"})),
                     clock=FakeClock(), policy=RetryPolicy(attempts=attempts))


@pytest.mark.parametrize(("status", "cls", "kind"), [
    (429, QuotaError, "source"), (502, TransientSourceError, "source"), (400, PermanentSourceError, "source"),
    (403, AuthError, "config"),
])
def test_odp_answers_are_classed(status, cls, kind):
    with odp_client(status) as c, pytest.raises((OdpError, OdpAuthError)) as e:
        c.application("17248024")
    assert isinstance(e.value, cls) and jobs._kind(e.value) == kind


def test_odp_network_failure_is_transient():
    def refuse(request):
        raise httpx.ConnectError("refused")

    with OdpClient(KEY, transport=httpx.MockTransport(refuse), clock=FakeClock(), policy=RetryPolicy(attempts=1)) as c:
        with pytest.raises(TransientSourceError, match="did not answer"):
            c.application("17248024")
