"""Numbers for people in text tables (issue 20 item 6): the cases the issue quotes, worked by hand."""

from __future__ import annotations

import polars as pl
import pytest

from patentscope.numfmt import column_kind, humanize_rows, money, number, percent


@pytest.mark.parametrize(("v", "text"), [
    (6997470.0, "6,997,470"), (2.32399e-13, "0"), (-3e-12, "0"), (0.0, "0"), (12.345, "12.35"), (2.0, "2"),
    (0.0239718, "0.024"), (1234567, "1,234,567"), (float("nan"), "NaN"), (1999.5, "2,000"),
])
def test_number(v, text):
    assert number(v) == text


def test_money_and_percent():
    assert money(6997470.0, "USD") == "USD 6,997,470"
    assert money(12.5, "EUR") == "EUR 12.50" and money(2.3e-13, "USD") == "USD 0" and money(1500.0) == "1,500"
    assert percent(0.0239718) == "2.40%" and percent(1.0) == "100.00%" and percent(2.3e-13) == "0%"
    assert percent(0.0000058) == "0.00058%"  # a small share keeps its digits instead of reading as 0


def test_column_kinds():
    kinds = {c: column_kind(c) for c in ("burden_p50", "share_of_counts", "cr4", "required_avg_rate", "sales_value",
                                         "royalties_p50", "amount_usd", "hhi", "n_families", "year", "run_id", "n_blocking")}
    assert kinds == {"burden_p50": "percent", "share_of_counts": "percent", "cr4": "percent", "required_avg_rate": "percent",
                     "sales_value": "money", "royalties_p50": "money", "amount_usd": "money", "hhi": "number",
                     "n_families": "number", "year": "plain", "run_id": "plain", "n_blocking": "number"}


def test_rows_take_the_currency_of_their_row():
    df = pl.DataFrame({"year": [2010, 2011], "currency": ["USD", "EUR"], "sales_value": [6997470.0, 1000.0],
                       "burden_p50": [0.0239718, 2.32399e-13], "cost_jpy": [5e6, None], "label": ["a", "b"]})
    assert list(humanize_rows(df)) == [
        ["2010", "USD", "USD 6,997,470", "2.40%", "JPY 5,000,000", "a"],
        ["2011", "EUR", "EUR 1,000", "0%", None, "b"],
    ]


def test_cli_table_uses_it(tmp_path, sample_warehouse):
    from click.testing import CliRunner

    from patentscope.cli import main
    r = CliRunner().invoke(main, ["--warehouse", str(sample_warehouse), "sql",
                                  "SELECT 6997470.0::DOUBLE AS sales_value, 'USD' AS currency, 0.0239718 AS burden_p50, "
                                  "2.32399e-13 AS x, 1988 AS year"])
    assert r.exit_code == 0, r.output
    line = r.output.splitlines()[2]
    assert "USD 6,997,470" in line and "2.40%" in line and "e-13" not in line and "1988" in line and "1,988" not in line
    csv = CliRunner().invoke(main, ["--warehouse", str(sample_warehouse), "sql", "SELECT 0.0239718 AS burden_p50", "--csv"])
    assert "0.0239718" in csv.output  # CSV/JSON keep the raw value
