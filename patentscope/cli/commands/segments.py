"""`patentscope segments`: the technology segments and the text classifier's evaluation."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    from ..context import Ctx
    from ..output import emit

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
    @click.option("--csv", "as_csv", is_flag=True, help="Shorthand for --format csv.")
    @click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
    @click.option("--fresh", is_flag=True, help="Cross-validate now, even if the warehouse holds a current model's scores.")
    @click.pass_obj
    def evaluate(obj: Ctx, all_publications: bool, fmt: str, as_csv: bool, as_json: bool, fresh: bool) -> None:
        """Cross-validated precision and recall of the text classifier, per segment.

        The classifier is trained on publications whose segments CPC rules decided (labels that
        do not come from the text it reads) and used only for segments whose precision reaches
        the gate in data/segments.toml. Prints the scores of the model cached in the warehouse
        (computed when it was fitted) if it is current, else cross-validates now.

        \b
        Examples:
          patentscope segments evaluate --csv
          patentscope segments evaluate --json --fresh
        """
        from ...metrics import segments as sg
        from ...warehouse.connection import reader

        fmt = "csv" if as_csv else "json" if as_json else fmt
        cs, segs = sg.load_classifier_settings(), sg.load_segments()
        with reader(obj.settings.warehouse) as con:
            hit = None if fresh else sg.cached_model(con, "all" if all_publications else "landscape", sg.rules_version(segs, cs))
            if hit is None:
                pubs, syms = sg._inputs(con, not all_publications)
        if hit is not None:
            ev, note = hit[0].scores, f"scores of the model trained {hit[1]:%Y-%m-%d %H:%M} UTC on {hit[0].n_training} publications"
        else:
            ev = sg.evaluate_classifier(pubs, sg.assign_by_rules(pubs, syms, segs), cs)
            note = f"cross-validated now over {pubs.height} publications"
        emit(ev, fmt)
        obj.log(f"{note}; classifier used where precision >= {cs.min_precision} "
                f"(and >= {cs.min_positives} CPC-decided examples)")

    @segments.command("train")
    @click.option("--all-publications", is_flag=True, help="Train on every publication, not only the landscape.")
    @click.pass_obj
    def train_cmd(obj: Ctx, all_publications: bool) -> None:
        """Refit the text classifier (cross-validation, then one fit) and cache it in the warehouse.

        `analyze` predicts with the cached model while its training set is the current one and
        fits again when it is not (classifier.refit = "when_changed" in data/segments.toml, the
        default; with "when_missing" it keeps the cached model after new data, and this command
        refits it on the new training set).

        \b
        Example:
          patentscope segments train && patentscope analyze --step segments
        """
        from ...metrics.segments import train
        from ...warehouse import migrations
        from ...warehouse.connection import writer

        with writer(obj.settings.warehouse, command="patentscope segments train") as con:
            migrations.apply(con)
            res = train(con, landscape_only=not all_publications)
        obj.log(f"trained on {res['training']} CPC-decided publications; predicts {', '.join(res['segments']) or 'no segment'} "
                f"(model {res['model_id']}, training set {res['training_version']})")

    @segments.command("list")
    @click.pass_obj
    def list_segments(obj: Ctx) -> None:
        """The segment rules in use (data/segments.toml) with their sources.

        \b
        Example:
          patentscope segments list
        """
        from ...metrics.segments import load_segments

        for s in load_segments():
            click.echo(f"{s.id}: {s.label}\n    cpc: {', '.join(s.cpc) or '-'}\n    keywords: {', '.join(s.keywords)}\n    source: {s.source}")
