"""Group normalized holder names into holders, precision first, every merge explained.

Two names are joined only by one of these, each recorded as an edge (rule, score):

==========================  =================================================================
``override:merge``          the user's overrides file says so (wins over everything)
``alias``                   a line of the lineage file names the same holder in another script
                            or language (e.g. 住友特殊金属株式会社 = Sumitomo Special Metals)
``same-normalized-name``    equal normalized names ("TDK CORP" = "TDK Corporation (Tokyo, JP)")
``same-person-name``        persons: the same words in any order, compatible countries
``same-letters``            equal once spaces are removed ("SHINETSU" = "SHIN ETSU")
``same-words-reordered``    the same words in another order (Espacenet moves articles)
``abbreviation``            word by word equal or abbreviated ("SUMITOMO SPEC METALS" =
                            "SUMITOMO SPECIAL METALS"; "UWM RES FOUNDATION"), first word equal
``typo``                    one word with two adjacent letters swapped or a plural -s, when the
                            TF-IDF cosine is high (``MAGENT``/``MAGNET``)
==========================  =================================================================

Candidates for the last four come from scikit-learn: TF-IDF over character 2-4-grams of the
normalized names and cosine nearest neighbours (plus all pairs that share a first word).
The cosine is the recorded score; near misses (cosine >= 0.5 but rejected) are recorded with
the reason, so a reviewer sees what was *not* merged and why. A user's ``split`` entries are
cannot-link constraints: no edge may join the names they separate.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .normalize import HolderName

TYPO_MIN_COSINE = 0.75
NEAR_MISS_MIN_COSINE = 0.5
KNN = 10
MAX_BLOCK = 200


@dataclass(frozen=True)
class Edge:
    a: str              # a name (part as written)
    b: str
    rule: str
    score: float
    accepted: bool
    reason: str


@dataclass(frozen=True)
class Link:
    """A merge asked for from outside the names (an override or a lineage alias)."""

    names: tuple[str, ...]
    rule: str           # 'override:merge' or 'alias'
    reason: str


@dataclass
class Clustering:
    entity_of: dict[str, str | None]                  # part as written -> entity id (None: unresolved)
    members: dict[str, list[str]]                     # entity id -> parts as written
    representative: dict[str, str]                    # entity id -> representative part
    joined_by: dict[str, Edge | None]                 # part -> the edge that joined it (None: representative)
    edges: list[Edge]                                 # accepted and rejected (near misses)
    warnings: list[str] = field(default_factory=list)


class _UF:
    def __init__(self, items: Iterable[str]):
        self.parent = {x: x for x in items}
        self.tags: dict[str, set[tuple[int, int]]] = {x: set() for x in self.parent}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def blocked(self, a: str, b: str) -> bool:
        ta, tb = self.tags[self.find(a)], self.tags[self.find(b)]
        return any(c == c2 and i != i2 for c, i in ta for c2, i2 in tb)

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.blocked(a, b):
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.tags[ra] |= self.tags.pop(rb)
        return True


# ----------------------------------------------------------------------------------------------
# word-level comparison


def _is_transposition(x: str, y: str) -> bool:
    if len(x) != len(y) or len(x) < 5:
        return False
    diff = [i for i in range(len(x)) if x[i] != y[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and x[diff[0]] == y[diff[1]] and x[diff[1]] == y[diff[0]]


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


def word_relation(x: str, y: str) -> str | None:
    """'equal', 'abbreviation', 'typo' or None (different words)."""
    if x == y:
        return "equal"
    short, long = (x, y) if len(x) <= len(y) else (y, x)
    if short.isalpha() and long.isalpha() and short.isascii() and long.isascii():
        if 3 <= len(short) <= 4 and long.startswith(short) and len(long) >= len(short) + 2:
            return "abbreviation"          # SPEC / SPECIAL, RES / RESEARCH, CHEM / CHEMICAL
        if (len(short) >= 3 and len(long) >= len(short) + 2 and short[0] == long[0] and short[-1] == long[-1]
                and _is_subsequence(short, long)):
            return "abbreviation"          # MFG / MANUFACTURING, BEHEERMIJ / BEHEERMAATSCHAPPIJ
        if _is_transposition(x, y):
            return "typo"
        if len(short) >= 4 and long == short + "S":
            return "typo"                  # plural
    return None


def _digits(key: str) -> list[str]:
    return re.findall(r"\d+", key)


def verify(a: HolderName, b: HolderName, cosine: float) -> tuple[bool, str, str]:
    """(accept, rule, reason) for two organisation names that are not equal."""
    ka, kb = a.key or "", b.key or ""
    if a.compact == b.compact:
        return True, "same-letters", f"{ka!r} and {kb!r} are equal without spaces"
    if _digits(ka) != _digits(kb):
        return False, "", "different numbers"
    if (a.script or "") != (b.script or ""):
        return False, "", "different scripts"
    ta, tb = list(a.tokens), list(b.tokens)
    if len(ta) != len(tb):
        extra = sorted(set(ta) ^ set(tb))
        return False, "", f"different number of words ({' '.join(extra[:4])})"
    if sorted(ta) == sorted(tb):
        if len(ta) >= 2:
            return True, "same-words-reordered", "the same words in another order"
    # word by word, in order; then, if needed, with the words reordered
    pairs = list(zip(ta, tb, strict=True))
    rel = [word_relation(x, y) for x, y in pairs]
    reordered = False
    if None in rel:
        used: set[int] = set()
        pairs, rel = [], []
        for x in ta:
            best: tuple[int, str] | None = None
            for j, y in enumerate(tb):
                if j in used:
                    continue
                r = word_relation(x, y)
                if r == "equal":
                    best = (j, r)
                    break
                if r and best is None:
                    best = (j, r)
            if best is None:
                return False, "", f"different word {x}"
            used.add(best[0])
            pairs.append((x, tb[best[0]]))
            rel.append(best[1])
        reordered = True
    n_equal = rel.count("equal")
    if reordered and n_equal < 2:
        return False, "", "too few equal words once reordered"
    if n_equal < 1 or (rel[0] != "equal" and n_equal < 2):
        return False, "", f"first words differ ({ta[0]}/{tb[0]}) and too few other words are equal"
    changes = [f"{x}={y}" if r == "abbreviation" else f"{x}~{y}" for (x, y), r in zip(pairs, rel, strict=True)
               if r != "equal"]
    if "abbreviation" in rel:
        return True, "abbreviation", ("reordered; " if reordered else "") + ", ".join(changes)
    if "typo" in rel:
        if cosine < TYPO_MIN_COSINE:
            return False, "", f"typo-like difference ({', '.join(changes)}) but cosine {cosine:.2f} < {TYPO_MIN_COSINE}"
        return True, "typo", ", ".join(changes)
    return False, "", "no rule applies"


# ----------------------------------------------------------------------------------------------
# the clustering


def _org_candidates(keys: list[str], names: dict[str, HolderName]) -> list[tuple[int, int, float]]:
    """Candidate pairs (i, j, cosine) of distinct organisation keys: TF-IDF character n-gram
    nearest neighbours, plus every pair sharing a first word (blocks up to MAX_BLOCK)."""
    if len(keys) < 2:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=False, sublinear_tf=True)
    x = vec.fit_transform(keys)
    k = min(KNN, len(keys))
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(x)
    dist, idx = nn.kneighbors(x)
    found: dict[tuple[int, int], float] = {}
    for i in range(len(keys)):
        for d, j in zip(dist[i], idx[i], strict=True):
            j = int(j)
            if j != i:
                found[(min(i, j), max(i, j))] = max(0.0, 1.0 - float(d))
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, kk in enumerate(keys):
        blocks[kk.split(" ", 1)[0]].append(i)
    for members in blocks.values():
        if 2 <= len(members) <= MAX_BLOCK:
            for p, i in enumerate(members):
                for j in members[p + 1:]:
                    if (i, j) not in found:
                        found[(i, j)] = float(x[i].multiply(x[j]).sum())
    return [(i, j, c) for (i, j), c in sorted(found.items())]


def _matches(name: str, nodes: dict[str, HolderName], by_key: dict[str, list[str]]) -> list[str]:
    """Nodes a user- or file-given name refers to: the exact part as written, else every part
    with the same normalized key."""
    if name in nodes:
        return [name]
    from .normalize import normalize_name

    h = normalize_name(name)
    return list(by_key.get(h.key or "\0", []))


def cluster(names: Iterable[HolderName], *, weights: dict[str, int] | None = None,
            links: Iterable[Link] = (), splits: Iterable[tuple[tuple[str, ...], str]] = ()) -> Clustering:
    """Cluster holder names (one :class:`HolderName` per distinct part as written).

    ``links``: merges that win (overrides, then lineage aliases). ``splits``: groups of names
    that must end in different holders (``(names, reason)``).
    """
    weights = weights or {}
    nodes: dict[str, HolderName] = {}
    for h in names:
        nodes.setdefault(h.as_written, h)
    resolved = {n: h for n, h in nodes.items() if h.resolved}
    uf = _UF(resolved)
    edges: list[Edge] = []
    warnings: list[str] = []
    by_key: dict[str, list[str]] = defaultdict(list)
    for n, h in sorted(resolved.items()):
        by_key[h.key or ""].append(n)

    for c, (split_names, reason) in enumerate(splits):
        for i, nm in enumerate(split_names):
            hit = _matches(nm, resolved, by_key)
            if not hit:
                warnings.append(f"split ({reason or 'no reason given'}): no name matches {nm!r}")
            for node in hit:
                uf.tags[uf.find(node)].add((c, i))

    def join(a: str, b: str, rule: str, score: float, reason: str) -> None:
        ok = uf.union(a, b)
        if not ok:
            reason = f"{reason}; blocked by a split override"
            warnings.append(f"{rule} of {a!r} and {b!r} not applied: a split override separates them")
        edges.append(Edge(a, b, rule, score, ok, reason))

    # equal keys
    for key, same in sorted(by_key.items()):
        if len(same) < 2:
            continue
        kinds = {resolved[n].kind for n in same}
        rule = "same-person-name" if kinds == {"person"} else "same-normalized-name"
        first = same[0]
        for other in same[1:]:
            h1, h2 = resolved[first], resolved[other]
            if "person" in kinds and h1.country and h2.country and h1.country != h2.country:
                edges.append(Edge(first, other, rule, 1.0, False, f"same name, different countries {h1.country}/{h2.country}"))
                continue
            if uf.find(other) != uf.find(first):
                join(first, other, rule, 1.0, f"normalized name {key!r}")

    # merges asked for from outside (overrides, lineage aliases): one name per normalized key
    for link in links:
        hits = [node for nm in link.names for node in _matches(nm, resolved, by_key)]
        if not hits:
            if link.rule.startswith("override"):
                warnings.append(f"{link.rule}: none of {list(link.names)} is in the data")
            continue
        per_key: dict[str, str] = {}
        for node in hits:
            per_key.setdefault(resolved[node].key or node, node)
        heads = list(per_key.values())
        for other in heads[1:]:
            if uf.find(other) != uf.find(heads[0]):
                join(heads[0], other, link.rule, 1.0, link.reason)

    # persons written in another word order, or an inventor-named default organisation
    by_words: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for n, h in sorted(resolved.items()):
        if h.kind == "person" or h.kind_evidence.startswith("no person evidence"):
            by_words[tuple(sorted(h.tokens))].append(n)
    for words, same_words in sorted(by_words.items()):
        if len(same_words) < 2 or not any(resolved[n].kind == "person" for n in same_words):
            continue
        for other in same_words[1:]:
            if uf.find(other) != uf.find(same_words[0]):
                join(same_words[0], other, "same-person-name", 1.0, f"the same words {' '.join(words)!r}")

    # organisations: candidates from TF-IDF nearest neighbours and first-word blocks
    org_keys = sorted({h.key for h in resolved.values() if h.kind == "organisation" and h.key})
    rep_of_key = {k: by_key[k][0] for k in org_keys}
    compact: dict[str, list[str]] = defaultdict(list)
    for k in org_keys:
        compact[k.replace(" ", "")].append(k)
    for ks in compact.values():
        for k in ks[1:]:
            a, b = rep_of_key[ks[0]], rep_of_key[k]
            if uf.find(a) != uf.find(b):
                join(a, b, "same-letters", 1.0, f"{ks[0]!r} and {k!r} are equal without spaces")
    for i, j, cos in _org_candidates(org_keys, resolved):
        na, nb = rep_of_key[org_keys[i]], rep_of_key[org_keys[j]]
        ha, hb = resolved[na], resolved[nb]
        if ha.compact == hb.compact:
            continue
        ok, rule, reason = verify(ha, hb, cos)
        if ok:
            if uf.find(na) != uf.find(nb):
                join(na, nb, rule, round(cos, 4), reason)
            else:
                edges.append(Edge(na, nb, rule, round(cos, 4), True, reason + " (already together)"))
        elif cos >= NEAR_MISS_MIN_COSINE:
            edges.append(Edge(na, nb, "tfidf-candidate", round(cos, 4), False, reason))

    # entities
    groups: dict[str, list[str]] = defaultdict(list)
    for n in resolved:
        groups[uf.find(n)].append(n)
    entity_of: dict[str, str | None] = {n: None for n in nodes}
    members: dict[str, list[str]] = {}
    representative: dict[str, str] = {}
    for _root, ms in groups.items():
        key_weight: dict[str, int] = defaultdict(int)
        for m in ms:
            key_weight[resolved[m].key or ""] += weights.get(m, 1)
        rep_key = min(key_weight, key=lambda k: (-key_weight[k], not k.isascii(), len(k), k))
        rep = min((m for m in ms if resolved[m].key == rep_key), key=lambda m: (-weights.get(m, 1), m))
        prefix = "P:" if resolved[rep].kind == "person" else "H:"
        eid = prefix + rep_key
        if eid in members:  # two holders whose representative keys coincide (split): keep ids distinct
            eid = f"{eid}#{sum(1 for e in members if e.startswith(eid))}"
        members[eid] = sorted(ms)
        representative[eid] = rep
        for m in ms:
            entity_of[m] = eid

    # how each name joined its holder: a spanning tree over accepted edges from the representative
    adj: dict[str, list[Edge]] = defaultdict(list)
    for e in edges:
        if e.accepted:
            adj[e.a].append(e)
            adj[e.b].append(e)
    joined_by: dict[str, Edge | None] = {n: None for n in nodes}
    for eid, rep in representative.items():
        seen = {rep}
        queue = [rep]
        while queue:
            cur = queue.pop(0)
            for e in adj[cur]:
                other = e.b if e.a == cur else e.a
                if other not in seen and entity_of.get(other) == eid:
                    seen.add(other)
                    joined_by[other] = Edge(cur, other, e.rule, e.score, True, e.reason)
                    queue.append(other)
    return Clustering(entity_of, members, representative, joined_by, edges, warnings)
