"""`patentscope segments`: the technology segments and the text classifier's evaluation."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    from ..cli import Ctx, emit

    @main.group()
    def segments() -> None:
        """Technology segments (CPC rules, keywords, precision-gated text classifier).

        \b
        Example:
          patentscope segments evaluate
        """

    @segments.command("evaluate")
    @click.option("--all-publications", is_flag=True, help="Train and evaluate on every publication, not only the landscape.")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
    @click.pass_obj
    def evaluate(obj: Ctx, all_publications: bool, fmt: str) -> None:
        """Cross-validated precision and recall of the text classifier, per segment.

        The classifier is trained on publications whose segments CPC rules decided (labels that
        do not come from the text it reads) and used only for segments whose precision reaches
        the gate in data/segments.toml.

        \b
        Example:
          patentscope segments evaluate --format csv
        """
        from ..metrics.segments import assign_by_rules, evaluate_classifier, load_classifier_settings, load_segments
        from ..warehouse.connection import reader

        where = "" if all_publications else "WHERE in_landscape"
        with reader(obj.settings.warehouse) as con:
            pubs = con.sql(f"SELECT pub_key, title, abstract FROM publications {where} ORDER BY pub_key").pl()
            syms = con.sql("SELECT pub_key, symbol FROM classifications ORDER BY pub_key, scheme, position").pl()
        cs = load_classifier_settings()
        ev = evaluate_classifier(pubs, assign_by_rules(pubs, syms, load_segments()), cs)
        emit(ev, fmt)
        obj.log(f"{pubs.height} publications; classifier used where precision >= {cs.min_precision} "
                f"(and >= {cs.min_positives} CPC-decided examples)")

    @segments.command("list")
    @click.pass_obj
    def list_segments(obj: Ctx) -> None:
        """The segment rules in use (data/segments.toml) with their sources.

        \b
        Example:
          patentscope segments list
        """
        from ..metrics.segments import load_segments

        for s in load_segments():
            click.echo(f"{s.id}: {s.label}\n    cpc: {', '.join(s.cpc) or '-'}\n    keywords: {', '.join(s.keywords)}\n    source: {s.source}")
