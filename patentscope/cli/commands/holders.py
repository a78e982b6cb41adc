"""``patentscope holders ...``: holder-name harmonization, lineage and its measured error rate.

    patentscope holders build                       (re)build the holder tables of the warehouse
    patentscope holders resolve NAME [--date D]     one name: normalized, holder, group at D, country, evidence
    patentscope holders evaluate [--set ndfeb]      pairwise precision / recall / F1 on labelled real names
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import click

from ...errors import ConfigError

OVERRIDES = click.option(
    "--overrides", "overrides_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
    help="Holder overrides TOML [env PATENTSCOPE_HOLDER_OVERRIDES; default holder_overrides.toml beside the warehouse].")
LINEAGE = click.option(
    "--lineage", "lineage_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
    help="Extra lineage CSV read after the built-in one [env PATENTSCOPE_HOLDER_LINEAGE].")


def _date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--date {value!r} is not a date; write it as YYYY-MM-DD (e.g. 2010-06-30)") from None


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def register(main: click.Group) -> None:
    @main.group()
    def holders() -> None:
        """Holder names: harmonization, corporate lineage over time, evaluation.

        \b
        Examples:
          patentscope holders build
          patentscope holders resolve "PROTERIAL, LTD., Tokyo (JP)" --date 2010-01-01
          patentscope holders evaluate
        """

    @holders.command("build")
    @OVERRIDES
    @LINEAGE
    @click.option("--family-mode", type=click.Choice(["extended", "simple"]), default=None,
                  help="Families built from priority claims where no DOCDB id is given: extended (publications "
                       "sharing any priority or application link) or simple (identical priority sets). "
                       "[default: the last build's, else extended; analyze keeps it]")
    @click.pass_obj
    def build_cmd(obj: Any, overrides_path: Path | None, lineage_path: Path | None, family_mode: str | None) -> None:
        """(Re)build the holder tables from the warehouse's parties (one transaction).

        Migrates the warehouse if needed, builds families (publications.family_id where no DOCDB
        id is given; publication_families), then replaces holder_chain, holder_names,
        holder_entities, holder_groups and holder_match_evidence (the view `holders` reads them).
        Safe to re-run; the overrides file is applied on every build.

        \b
        Examples:
          patentscope --warehouse patentscope-demo/patentscope.duckdb holders build
          patentscope --warehouse patentscope-demo/patentscope.duckdb holders build --family-mode simple
        """
        from ...holders.build import refresh
        from ...warehouse import migrations
        from ...warehouse.connection import writer

        path = obj.settings.warehouse
        if not path.exists():
            from ...errors import WarehouseError

            raise WarehouseError(f"no warehouse at {path}; build one with `patentscope demo` or an ingest first")
        with writer(path) as con:
            applied = migrations.apply(con)
            if applied:
                obj.log(f"migrated {path}: {', '.join(applied)}")
            stats = refresh(con, overrides_path=overrides_path, lineage_path=lineage_path, family_mode=family_mode)
        for w in stats.warnings:
            obj.log(f"warning: {w}")
        click.echo(stats.summary())
        click.echo("families: " + stats.families)

    @holders.command("chain")
    @click.argument("publication")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def chain_cmd(obj: Any, publication: str, as_json: bool) -> None:
        """Print who held a publication when: each ownership link, its group interval and its source.

        Reads holder_chain and publication_holder_groups (built by `holders build` / `analyze`)
        and the recorded USPTO assignments (`ingest assignments`, `ingest odp`): each with its
        date, conveyance class (security interests and licences do not move ownership) and source.

        \b
        Example:
          patentscope --warehouse patentscope-demo/patentscope.duckdb holders chain US4902361
        """
        from ...errors import InputError
        from ...record import ownership_events_of
        from ...warehouse.connection import reader

        key = publication.strip().upper().replace(" ", "")
        m = re.fullmatch(r"([A-Z]{2})-?0*([0-9A-Z]+?)(?:-?[A-Z][0-9]?)?", key)
        if not m:
            raise InputError(f"{publication!r} is not a publication number such as US4902361 or US-4902361")
        with reader(obj.settings.warehouse) as con:
            cands = [f"{m[1]}-{m[2]}", key]
            links = con.execute(
                "SELECT c.pub_key, c.seq, c.name_as_written, c.role, c.valid_from, c.valid_to, c.date_basis, c.evidence, "
                "c.source, c.flag, c.counted FROM holder_chain c WHERE c.pub_key IN (?, ?) ORDER BY c.seq", cands).fetchall()
            events = [e for k in dict.fromkeys(cands) for e in ownership_events_of(con, k)]
            groups = con.execute(
                "SELECT name_as_written, group_id, group_label, holder_kind, valid_from, valid_to, lineage_confirmed "
                "FROM publication_holder_groups WHERE pub_key IN (?, ?) ORDER BY valid_from NULLS FIRST, group_id",
                cands).fetchall()
            flags = con.execute("SELECT name_as_written, flag FROM publication_holder_flags WHERE pub_key IN (?, ?)",
                                cands).fetchall()
        if not links and not flags:
            raise InputError(f"no holder chain for {publication} in {obj.settings.warehouse} "
                             "(not in the warehouse, or `holders build` / `analyze` not run)")
        cols_l = ("pub_key", "seq", "name_as_written", "role", "valid_from", "valid_to", "date_basis", "evidence", "source",
                  "flag", "counted")
        cols_g = ("name_as_written", "group_id", "group_label", "holder_kind", "valid_from", "valid_to", "lineage_confirmed")
        if as_json:
            click.echo(json.dumps({"links": [dict(zip(cols_l, r, strict=True)) for r in links],
                                   "groups": [dict(zip(cols_g, r, strict=True)) for r in groups],
                                   "no_holder_flags": [{"name_as_written": a, "flag": b} for a, b in flags],
                                   "ownership_events": events},
                                  default=str, ensure_ascii=False, indent=1))
            return
        for r in links:
            click.echo(f"link {r[1]}: {r[2]} ({r[3]}) from {_fmt(r[4]) if r[4] else 'start'} to "
                       f"{_fmt(r[5]) if r[5] else 'now'} [{r[6]}; source {r[8]}]: {r[7]}"
                       + ("" if r[10] else " NOT COUNTED") + (f" ! {r[9]}" if r[9] else ""))
        for r in groups:
            click.echo(f"  group {r[2]} ({r[1]}, {r[3]}) from {_fmt(r[4]) if r[4] else 'start'} to "
                       f"{_fmt(r[5]) if r[5] else 'now'}" + ("" if r[6] else " [unconfirmed lineage]"))
        for a, b in flags:
            click.echo(f"no holder shown: {a!r}: {b}")
        for e in sorted(events, key=lambda e: (e["effective_date"] or dt.date.max, e["reel_frame"])):
            click.echo(f"assignment {e['reel_frame']} {e['effective_date'] or 'undated'} ({e['date_basis']}): "
                       f"{e['conveyance_class']}{'' if e['moves_ownership'] else ' (owner unchanged)'}: "
                       f"{'; '.join(e['assignors'] or [])} -> {'; '.join(e['assignees'] or [])} [{e['source']} {e['source_record']}]")

    @holders.command("resolve")
    @click.argument("name")
    @click.option("--date", "date_text", metavar="YYYY-MM-DD", default=None, help="Date for the holder group [default: today].")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @OVERRIDES
    @LINEAGE
    @click.pass_obj
    def resolve_cmd(obj: Any, name: str, date_text: str | None, as_json: bool, overrides_path: Path | None,
                    lineage_path: Path | None) -> None:
        """Print the normalized name, holder, holder group at a date, country and match evidence.

        Uses the warehouse's holder tables when they are built, and then also lists the holder's
        ownership links (holder_chain: publication, interval, date basis and source, recorded
        assignments and flagged links first; `holders chain PUB` shows one publication's whole
        chain); otherwise resolves the name on its own with the lineage file and the overrides. A field listing several holders
        ("A; B") gives one answer per holder. Bad input (empty, punctuation, a country only,
        very long, mixed scripts) is reported as unresolved.

        \b
        Examples:
          patentscope holders resolve "Sumitomo Special Metals Co., Ltd." --date 2005-06-01
          patentscope holders resolve "TDK CORP" --json
        """
        from ...holders.build import resolve_inputs
        from ...holders.resolve import resolve
        from ...warehouse.connection import reader

        day = _date(date_text)
        path = obj.settings.warehouse
        if path.exists():
            with reader(path, sandbox=False) as con:
                lineage, overrides, _ = resolve_inputs(con, overrides_path, lineage_path)
                res = resolve(name, day, lineage=lineage, overrides=overrides, con=con)
        else:
            obj.log(f"no warehouse at {path}: resolving the name on its own")
            lineage, overrides, _ = resolve_inputs(None, overrides_path, lineage_path)
            res = resolve(name, day, lineage=lineage, overrides=overrides)
        if as_json:
            click.echo(json.dumps([r.as_dict() for r in res], ensure_ascii=False, indent=1))
            return
        for i, r in enumerate(res):
            if i:
                click.echo("")
            rows = [("name as written", r.part), ("normalized name", r.normalized_name), ("kind", f"{r.kind} ({r.kind_evidence})"),
                    ("legal form", r.legal_form), ("location", r.location)]
            if r.unresolved_reason:
                rows.append(("status", f"UNRESOLVED: {r.unresolved_reason}"))
            rows += [("holder", r.holder), (f"holder on {r.date}", r.holder_at_date), (f"holder group on {r.date}", r.holder_group),
                     ("group id", r.group_id), ("country", r.country + (f" ({r.country_evidence})" if r.country_evidence else "")
                                                if r.country else None),
                     ("group country", r.group_country), ("match evidence", r.match_evidence),
                     ("lineage", r.lineage_path),
                     ("lineage confirmed", None if r.lineage_confirmed is None else ("yes" if r.lineage_confirmed else
                                                                                      "no (an unconfirmed line was used)")),
                     ("resolved from", r.source)]
            width = max(len(k) for k, _ in rows)
            for k, v in rows:
                click.echo(f"{k.ljust(width)}  {_fmt(v)}")
            if r.chain_links:
                click.echo(f"ownership links ({len(r.chain_links)} of {r.n_chain_links}; recorded assignments and flags first):")
            for c in r.chain_links:
                click.echo(f"  {c['pub_key']} {c['name_as_written']} ({c['role']}) from {c['valid_from'] or 'start'} to "
                           f"{c['valid_to'] or 'now'} [{c['date_basis']}; source {c['source']}]"
                           + ("" if c["counted"] else " NOT COUNTED") + (f" ! {c['flag']}" if c["flag"] else ""))

    @holders.command("evaluate")
    @click.option("--set", "which", type=click.Choice(["ndfeb", "epo-ops", "kinds", "all"]), default="all",
                  show_default=True, help="Which shipped labelled set (kinds: person/organisation accuracy).")
    @click.option("--labels", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                  help="Your own labelled CSV (columns name_as_written, gold_holder).")
    @click.option("--no-aliases", is_flag=True, help="Leave out the lineage file's alias lines (rules and TF-IDF only).")
    @click.option("--with-overrides", "overrides_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                  default=None, help="Also apply this overrides file (off by default: overrides would grade themselves).")
    @click.option("--errors/--no-errors", "show_errors", default=True, show_default=True, help="List false merges and misses.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def evaluate_cmd(obj: Any, which: str, labels: Path | None, no_aliases: bool, overrides_path: Path | None,
                     show_errors: bool, as_json: bool) -> None:
        """Print pairwise precision, recall and F1 of holder matching on labelled real names.

        The NdFeB set is every holder name of the embedded sample (and its pages' other
        writings), hand-labelled; the EPO OPS set is labelled by the EPO data itself (one
        applicant in two formats). See patentscope/data/holders/LABELLING.md.

        \b
        Examples:
          patentscope holders evaluate
          patentscope holders evaluate --set ndfeb --no-aliases --json
        """
        from ...holders.evaluate import evaluate
        from ...holders.overrides import load_overrides

        ov = load_overrides(overrides_path) if overrides_path else None
        kinds = []
        if labels is None and which in ("kinds", "all"):
            from ...holders.evaluate import KIND_SETS, data_path, evaluate_kinds

            kinds = [(k, evaluate_kinds(data_path(f))) for k, f in KIND_SETS.items()]
        if labels is None and which == "kinds":
            results = []
        elif labels is not None:
            results = [evaluate("custom", path=labels, use_aliases=not no_aliases, overrides=ov)]
        else:
            sets = ["ndfeb", "epo-ops"] if which == "all" else [which]  # "kinds" handled above
            results = [evaluate(s, use_aliases=not no_aliases, overrides=ov) for s in sets]
        if as_json:
            click.echo(json.dumps([r.as_dict() for r in results] + [kr.as_dict() | {"set": k} for k, kr in kinds],
                                  ensure_ascii=False, indent=1))
            return
        for k, kr in kinds:
            click.echo(f"{k}: {kr.n_names} labelled names, person/organisation accuracy {_fmt(kr.accuracy)} "
                       f"({kr.n_correct} correct); confusion gold -> predicted: {kr.confusion}")
            if show_errors:
                for name, gold, got, ev in kr.errors:
                    click.echo(f"  {gold} read as {got}: {name!r} ({ev})")
        for r in results:
            click.echo(f"{r.name}: {r.n_names} names, {r.n_gold_holders} gold holders, {r.n_pairs} pairs "
                       f"({r.n_positive_pairs} positive; {r.n_excluded_pairs} unsure left out)")
            click.echo(f"  precision {_fmt(r.precision)}  recall {_fmt(r.recall)}  F1 {_fmt(r.f1)}  "
                       f"(TP {r.tp}, FP {r.fp}, FN {r.fn})" + ("" if not no_aliases else "  [no aliases]"))
            if show_errors:
                for a, b, how in r.false_merges:
                    click.echo(f"  false merge ({how}): {a!r} + {b!r}")
                for a, b in r.misses:
                    click.echo(f"  missed: {a!r} + {b!r}")
