"""`patentscope findings`: answers to the three questions, each with its numbers, unknowns,
assumptions and the named query behind every number (docs/findings.md)."""

from __future__ import annotations

import datetime as dt
import json

import click


def register(main: click.Group) -> None:
    from ..context import Ctx

    @main.command()
    @click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="The date of the findings (default: today).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
    @click.pass_obj
    def findings(obj: Ctx, at: dt.datetime | None, as_json: bool) -> None:
        """Do one country's firms hold the basic patents; how concentrated is the wall and when
        does it fall; can fees reach 30% of export sales? A verdict only where the data suffice
        (data/findings.toml): otherwise "too few to judge", with the counts. Each number names
        the query that reproduces it (`patentscope query NAME`).

        \b
        Examples:
          patentscope findings --at 2014-07-08
          patentscope findings --json
        """
        from ...findings import as_text
        from ...findings import findings as run
        from ...warehouse.connection import reader

        day = at.date() if at else dt.date.today()
        with reader(obj.settings.warehouse) as con:
            out = run(con, day)
        click.echo(json.dumps(out, indent=2, default=str) if as_json else as_text(out))
