"""Pairwise precision, recall and F1 of holder-name matching on labelled real names.

A labelled set is a CSV of real holder names with a gold holder label each
(``patentscope/data/holders/eval_names.csv``: the names of the embedded NdFeB sample;
``eval_epo_ops_names.csv``: applicant names of recorded EPO OPS responses). Every pair of names
in a set is a labelled pair: positive when both carry the same gold label. Pairs listed in
``eval_unsure_pairs.csv`` are left out. The names are matched exactly as the build matches
warehouse names (same normalization, clustering and lineage aliases; no user overrides unless
asked), without publication context (no inventor lists).

precision = TP / (TP + FP), recall = TP / (TP + FN), over pairs; unresolved names are never
matched to anything.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import InputError
from .cluster import Link, cluster
from .lineage import Lineage, builtin_lineage
from .normalize import normalize_name
from .overrides import Overrides

SETS = {"ndfeb": "eval_names.csv", "epo-ops": "eval_epo_ops_names.csv"}
UNSURE = "eval_unsure_pairs.csv"
# person/organisation sets: the sample's names (development set) and PatentsView's own
# assignee_type labels (independent of these rules)
KIND_SETS = {"kinds-sample": "eval_kinds.csv", "kinds-patentsview": "eval_kinds_patentsview.csv"}


def data_path(name: str) -> Path:
    return Path(str(resources.files("patentscope").joinpath(f"data/holders/{name}")))


@dataclass
class EvalResult:
    name: str
    n_names: int
    n_gold_holders: int
    n_pairs: int
    n_positive_pairs: int
    n_excluded_pairs: int
    tp: int
    fp: int
    fn: int
    false_merges: list[tuple[str, str, str]] = field(default_factory=list)   # (a, b, how joined)
    misses: list[tuple[str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def as_dict(self) -> dict[str, object]:
        return {"set": self.name, "names": self.n_names, "gold_holders": self.n_gold_holders, "pairs": self.n_pairs,
                "positive_pairs": self.n_positive_pairs, "excluded_pairs": self.n_excluded_pairs,
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "false_merges": [list(x) for x in self.false_merges],
                "misses": [list(x) for x in self.misses]}


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read labelled set {path}: {e.strerror}") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    rows = list(csv.DictReader(lines))
    if not rows or any(c not in rows[0] for c in columns):
        raise InputError(f"{path}: needs the columns {', '.join(columns)}")
    return rows


def load_gold(path: Path) -> list[tuple[str, str]]:
    return [(r["name_as_written"], r["gold_holder"]) for r in _read(path, ("name_as_written", "gold_holder"))]


def load_unsure(path: Path) -> set[frozenset[str]]:
    if not path.exists():
        return set()
    return {frozenset((r["name_a"], r["name_b"])) for r in _read(path, ("name_a", "name_b"))}


def evaluate_names(gold: list[tuple[str, str]], *, name: str = "custom", unsure: set[frozenset[str]] | None = None,
                   lineage: Lineage | None = None, overrides: Overrides | None = None,
                   use_aliases: bool = True) -> EvalResult:
    lineage = lineage if lineage is not None else builtin_lineage()
    unsure = unsure or set()
    names = list(dict.fromkeys(n for n, _ in gold))
    label = dict(gold)
    parts = {n: normalize_name(n) for n in names}
    links: list[Link] = []
    if overrides is not None:
        links += [Link(ns, "override:merge", r) for ns, r in overrides.merge]
    if use_aliases:
        links += [Link((ln.subject, ln.object), "alias", ln.describe()) for ln in lineage.lines if ln.relation == "alias"]
    cl = cluster(parts.values(), links=links, splits=overrides.split if overrides else ())
    pred = {n: cl.entity_of.get(n) or f"unresolved:{n}" for n in names}
    res = EvalResult(name, len(names), len(set(label.values())), 0, 0, 0, 0, 0, 0)
    for a, b in itertools.combinations(names, 2):
        if frozenset((a, b)) in unsure:
            res.n_excluded_pairs += 1
            continue
        res.n_pairs += 1
        same_gold, same_pred = label[a] == label[b], pred[a] == pred[b]
        res.n_positive_pairs += same_gold
        if same_gold and same_pred:
            res.tp += 1
        elif same_pred:
            how = cl.joined_by.get(b) or cl.joined_by.get(a)
            res.fp += 1
            res.false_merges.append((a, b, how.rule if how else "same holder"))
        elif same_gold:
            res.fn += 1
            res.misses.append((a, b))
    return res


def evaluate(which: str = "ndfeb", *, path: Path | None = None, use_aliases: bool = True,
             overrides: Overrides | None = None) -> EvalResult:
    """Evaluate on a shipped set (``ndfeb``, ``epo-ops``) or a CSV given by ``path``."""
    if path is None:
        if which not in SETS:
            raise InputError(f"no labelled set {which!r}; choose {', '.join(SETS)} or give a CSV")
        path = data_path(SETS[which])
    unsure = load_unsure(data_path(UNSURE)) if which == "ndfeb" and path == data_path(SETS["ndfeb"]) else set()
    return evaluate_names(load_gold(path), name=which if path == data_path(SETS.get(which, "")) else str(path),
                          unsure=unsure, overrides=overrides, use_aliases=use_aliases)


@dataclass
class KindResult:
    n_names: int
    n_correct: int
    confusion: dict[str, dict[str, int]]
    errors: list[tuple[str, str, str, str]]   # name, gold, predicted, evidence

    @property
    def accuracy(self) -> float | None:
        return self.n_correct / self.n_names if self.n_names else None

    def as_dict(self) -> dict[str, object]:
        return {"set": "kinds", "n_names": self.n_names, "n_correct": self.n_correct, "accuracy": self.accuracy,
                "confusion": self.confusion, "errors": [list(e) for e in self.errors]}


def evaluate_kinds(path: Path | None = None) -> KindResult:
    """Person/organisation accuracy of :func:`normalize_name` (no publication context, so no
    inventor evidence) on ``eval_kinds.csv``: the sample's inventor names (natural persons by law)
    and the labelled holder names of both sets. Unresolved counts as wrong."""
    p = path or data_path("eval_kinds.csv")
    confusion: dict[str, dict[str, int]] = {}
    errors: list[tuple[str, str, str, str]] = []
    n = ok = 0
    with p.open(encoding="utf-8", newline="") as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    for i, row in enumerate(csv.DictReader(lines), start=2):
        name, gold = row.get("name_as_written"), row.get("gold_kind")
        if not name or gold not in ("person", "organisation"):
            raise InputError(f"{p}: row {i}: needs name_as_written and gold_kind person|organisation")
        h = normalize_name(name)
        n += 1
        confusion.setdefault(gold, {}).setdefault(h.kind, 0)
        confusion[gold][h.kind] += 1
        if h.kind == gold:
            ok += 1
        else:
            errors.append((name, gold, h.kind, h.kind_evidence))
    return KindResult(n, ok, confusion, errors)
