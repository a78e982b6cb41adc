"""Bulk archives: a corrupt, truncated, encrypted or oddly compressed zip member, or a table that
is not UTF-8, stops the load with one message naming file and member (and line/byte offset for
the encoding); no data row is written. The release is SYNTHETIC (benchmarks/synthetic_patentsview.py)."""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from patentscope.archives import check_members, first_bad_utf8
from patentscope.cli import main
from patentscope.errors import InputError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("synthetic_patentsview", REPO / "benchmarks" / "synthetic_patentsview.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("release")
    mod.generate(out, 300, seed=3, landscape_share=0.1, log=lambda _m: None)
    return out


@pytest.fixture()
def rel(release: Path, tmp_path: Path) -> Path:
    d = tmp_path / "rel"
    shutil.copytree(release, d)
    return d


def _patch(zpath: Path, *, flag: int | None = None, method: int | None = None) -> None:
    """Set the general-purpose flag / compression method of the (only) member in both headers."""
    data = bytearray(zpath.read_bytes())
    lh, cd = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    if flag is not None:
        data[lh + 6] |= flag
        data[cd + 8] |= flag
    if method is not None:
        data[lh + 8:lh + 10] = method.to_bytes(2, "little")
        data[cd + 10:cd + 12] = method.to_bytes(2, "little")
    zpath.write_bytes(bytes(data))


def _corrupt(zpath: Path) -> None:
    data = bytearray(zpath.read_bytes())
    with zipfile.ZipFile(zpath) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 20, start + min(info.compress_size - 4, 400), 7):
        data[i] ^= 0xA5
    zpath.write_bytes(bytes(data))


def _rezip_with(zpath: Path, transform) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(zpath) as z:
        name = z.namelist()[0]
        raw = z.read(name)
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, transform(raw))


def _counts(wh: Path) -> dict[str, int]:
    if not wh.exists():
        return {}
    con = duckdb.connect(str(wh), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in names}
    finally:
        con.close()


def _load(rel: Path, wh: Path, *extra: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["--warehouse", str(wh), "ingest", "bulk", str(rel), *extra])
    return res.exit_code, res.output


@pytest.mark.parametrize("damage,table,words", [
    ("encrypted", "g_patent", r"g_patent\.tsv\.zip:g_patent\.tsv: the member is encrypted"),
    ("deflate64", "g_cpc_current", r"g_cpc_current\.tsv\.zip:g_cpc_current\.tsv: compression method 9 is not supported"),
    ("corrupt", "g_patent_abstract", r"g_patent_abstract\.tsv\.zip:g_patent_abstract\.tsv: the archive is damaged"),
    ("truncated", "g_us_patent_citation", r"g_us_patent_citation\.tsv\.zip.*(not a readable zip|truncated)"),
])
def test_damaged_member_stops_the_load_before_any_write(rel: Path, tmp_path: Path, sample_warehouse: Path,
                                                        damage: str, table: str, words: str) -> None:
    import re

    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    before = _counts(wh)
    z = rel / f"{table}.tsv.zip"
    if damage == "encrypted":
        _patch(z, flag=0x1)
    elif damage == "deflate64":
        _patch(z, method=9)
    elif damage == "corrupt":
        _corrupt(z)
    else:
        z.write_bytes(z.read_bytes()[: z.stat().st_size // 2])
    code, out = _load(rel, wh)
    assert code == 1, out
    assert re.search(words, out), out
    assert out.count("patentscope: error:") == 1 and "internal error" not in out
    assert _counts(wh) == before  # not even a run record


def test_latin1_row_names_file_member_line_and_offset(rel: Path, tmp_path: Path, sample_warehouse: Path) -> None:
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    data_before = {t: n for t, n in _counts(wh).items() if t not in ("ingest_runs",)}
    z = rel / "g_patent_abstract.tsv.zip"
    line_no = 0

    def latin1(raw: bytes) -> bytes:  # one Latin-1 byte in the last abstract, past the header's block
        nonlocal line_no
        lines = raw.split(b"\n")
        line_no = max(i for i, ln in enumerate(lines) if ln.strip()) + 1
        lines[line_no - 1] = lines[line_no - 1].replace(b"a", b"\xe9", 1)
        return b"\n".join(lines)

    _rezip_with(z, latin1)
    with zipfile.ZipFile(z) as zz:
        raw = zz.read("g_patent_abstract.tsv")
    offset = raw.index(b"\xe9")
    assert offset > 16_384 and first_bad_utf8(z, "g_patent_abstract.tsv") == (line_no, offset)
    code, out = _load(rel, wh)
    assert code == 1, out
    assert (f"g_patent_abstract.tsv.zip:g_patent_abstract.tsv: not UTF-8 text at line {line_no}, "
            f"byte offset {offset}") in out, out
    assert {t: n for t, n in _counts(wh).items() if t not in ("ingest_runs",)} == data_before


def test_check_members_accepts_a_good_release(release: Path) -> None:
    for z in release.glob("*.tsv.zip"):
        check_members(z, [z.name[: -len(".zip")]])


def test_check_members_names_a_missing_member(release: Path) -> None:
    z = next(release.glob("g_patent.tsv.zip"))
    with pytest.raises(InputError, match=r"g_patent\.tsv\.zip:nope\.tsv: no such member"):
        check_members(z, ["nope.tsv"])


def test_first_bad_utf8_across_chunk_boundaries(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    good = "é".encode() * 10
    p.write_bytes(b"a\n" + good + b"\n" + b"\xff")
    for chunk in (1, 2, 3, 7, 1 << 20):
        assert first_bad_utf8(p, chunk=chunk) == (3, 2 + len(good) + 1)
    p.write_bytes(b"ok\n" + good)
    assert first_bad_utf8(p) is None
