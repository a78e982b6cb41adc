"""Issue 19 item 8: an OPS family of 2,000 members is read in time linear in its size.

The family response is SYNTHETIC: the first member of a real recorded INPADOC family response
(tests/fixtures/epo_ops/bodies, EP1000000, see PROVENANCE.md there) repeated 2,000 times with
SYNTHETIC publication and application numbers (EP1000000.. EP1001999), so every member is a
distinct publication. No real family is this large in the fixtures; the numbers are not real
patents and never reach a warehouse.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from patentscope.normalize import epo_ops as nops

FAMILY = (Path(__file__).parent / "fixtures" / "epo_ops" / "bodies"
          / "family__model_test_test_model__00__family_publication_docdb_EP1000000A1.xml")
MEMBERS = 2000


def synthetic_family(n: int = MEMBERS) -> bytes:
    """SYNTHETIC: a family response of ``n`` members built from the recorded one's first member."""
    src = FAMILY.read_text(encoding="utf-8")
    m = re.search(r"<ops:family-member .*?</ops:family-member>", src, re.S)
    assert m is not None
    member = m.group(0)
    body = "\n".join(member.replace("<doc-number>1000000</doc-number>", f"<doc-number>{1000000 + i}</doc-number>")
                           .replace("<doc-number>EP1000000</doc-number>", f"<doc-number>EP{1000000 + i}</doc-number>")
                           .replace("<doc-number>99203729</doc-number>", f"<doc-number>{99203729 + i}</doc-number>")
                     for i in range(n))
    head = src[:src.index("<ops:family-member")].replace('total-result-count="6"', f'total-result-count="{n}"')
    tail = src[src.rindex("</ops:family-member>") + len("</ops:family-member>"):]
    return (head + body + tail).encode("utf-8")


def test_the_synthetic_family_has_distinct_members() -> None:
    parsed = nops.parse_document(synthetic_family(50), "SYNTHETIC family")
    assert parsed.family is not None and not parsed.rejected
    keys = [m.doc.pub_key for m in parsed.family.members]
    assert len(keys) == len(set(keys)) == 50


def test_a_2000_member_family_parses_in_linear_time() -> None:
    def timed(n: int) -> float:
        data = synthetic_family(n)
        t = time.process_time()  # CPU time: other processes on a shared machine do not count
        parsed = nops.parse_document(data, "SYNTHETIC family")
        took = time.process_time() - t
        assert parsed.family is not None and len(parsed.family.members) == n
        return took

    small, big = timed(MEMBERS // 4), timed(MEMBERS)
    assert big < 2.0, big
    assert big < 12 * small + 0.3, (small, big)   # 4x the members: about 4x the time, not 16x


_BUILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_ops_large_family import synthetic_family
from patentscope.normalize import epo_ops as nops
from patentscope.landscape import load_landscape
parsed = nops.parse_document(synthetic_family(), "SYNTHETIC family")
nops.build_batch([parsed], load_landscape(), legal_keys=set())
"""


@pytest.mark.integration
def test_a_2000_member_family_builds_its_batch_in_seconds() -> None:
    subprocess.run([sys.executable, "-c", _BUILD.format(tests=str(Path(__file__).parent))], check=True, timeout=10)


def test_a_large_family_step_says_so_before_it_is_normalized(monkeypatch: pytest.MonkeyPatch) -> None:
    from patentscope.ingest import ops as iops
    from patentscope.landscape import load_landscape
    from patentscope.sources.epo_ops import OpsResponse

    class Client:
        def biblio(self, numbers: list[str]) -> None:
            return None

        def family(self, docdb: str) -> OpsResponse:
            return OpsResponse("GET", "family/publication/docdb/EP.1000000.A1", "", 200, synthetic_family(60),
                               "application/xml", "family")

    monkeypatch.setattr(iops, "LARGE_FAMILY", 50)   # the 2,000-member case: see the test above
    hit = nops.SearchHit(nops.DocNumber("EP", "1000000", "A1"), "19768124")
    lines: list[str] = []
    batch, landing = iops._fetch_step(Client(), [hit], iops.OpsOptions(legal=False), load_landscape(), 1, None,  # type: ignore[arg-type]
                                      lines.append)
    assert lines == ["ops: normalizing 1 family response(s) with 60 members (large families take longer)"]
    assert len(landing) == 1 and len(batch.publications) == 60
