"""Legal forms of organisations, in many languages and scripts.

Latin-script forms come from the ``cleanco`` library's term data (about 320 forms from some
80 countries: Co., Ltd., K.K., GmbH, AG, S.A., S.p.A., LLC, Oy, ...), written the way this
package tokenizes names. Added here, because cleanco does not have them:

* romanized Japanese forms (``Kabushiki Kaisha`` and its spellings, ``Yugen Kaisha``, ...) and
  ``GmbH & Co KG`` spelled with ``and``;
* forms in Chinese, Japanese and Korean script (株式会社, 有限会社, 股份有限公司, 有限公司,
  주식회사, (주), ...), which are written without spaces and so are stripped as affixes.

A few cleanco terms are left out on purpose because they are also ordinary last words of
names, and stripping them would merge different holders (``UK`` in "Foo UK" is a subsidiary,
not a legal form): see ``_EXCLUDED``.
"""

from __future__ import annotations

from functools import lru_cache

from .tokens import tokenize  # the same tokenizer as names

_EXCLUDED = {
    "uk", "private", "ok", "at", "ba", "bl", "ec", "ei", "ep", "ev", "fa", "gp", "ik", "kf", "ps", "sf", "sp",
    "ud", "e.g.", "et", "sem", "sep", "ent.", "etat", "tdv", "suc. de descendants", "ses.", "sogepa",
    "coop.", "koop.", "s.coop", "scop", "cic", "cio", "ans", "da", "ij", "xt", "xk", "og", "mb", "ay",
}

# Latin-script forms cleanco does not have (as they are written; tokenized like names).
_EXTRA_LATIN = [
    "kabushiki kaisha", "kabushikikaisha", "kabushiki gaisha", "kabushikigaisha", "kabusiki kaisya",
    "yugen kaisha", "yuugen kaisha", "godo kaisha", "goudou kaisha", "goshi kaisha", "gomei kaisha",
    "gmbh and co kg", "gmbh and co. kg", "gmbh & co kg", "and co kg", "& co kg", "co kg", "co. kg",
    "gmbh and co", "and co", "co ltd", "co., ltd.", "company limited", "corp ltd", "pvt ltd", "pvt",
    "aktiengesellschaft", "gesellschaft mbh", "mbh", "se", "ulc", "jsc", "pjsc", "cjsc", "ojsc",
    "spa", "sarl", "bvba", "tbk", "sdn", "l.l.c", "s.a", "n.v", "b.v", "inc,", "ltd,",
]

# Forms that stand before the name ("Kabushiki Kaisha Toshiba", "PT Foo Tbk").
_PREFIXES_LATIN = ["kabushiki kaisha", "kabushikikaisha", "kabushiki gaisha", "kk", "pt"]

# Chinese / Japanese / Korean forms, stripped as affixes of the name (after NFKC, so the
# parenthesized one-character forms ㈱ ㈲ ㈜ appear as (株) (有) (주)). Longest first.
CJK_FORMS: tuple[str, ...] = tuple(sorted({
    "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "(有)", "(同)",
    "一般社団法人", "一般財団法人", "公益社団法人", "公益財団法人", "国立研究開発法人", "独立行政法人",
    "国立大学法人", "学校法人", "財団法人", "社団法人",
    "股份有限公司", "有限责任公司", "有限責任公司", "株式有限公司", "股份公司", "有限公司", "公司",
    "주식회사", "유한회사", "유한책임회사", "(주)", "(유)", "재단법인", "사단법인", "(재)",
}, key=lambda s: (-len(s), s)))


def _tokens(term: str) -> tuple[str, ...]:

    return tuple(tokenize(term))


@lru_cache(maxsize=1)
def latin_suffix_terms() -> tuple[tuple[str, ...], ...]:
    """Token tuples of every Latin-script legal form, longest first."""
    from cleanco.termdata import terms_by_country, terms_by_type

    raw: set[str] = set()
    for group in (*terms_by_type.values(), *terms_by_country.values()):
        raw.update(t.strip() for t in group)
    raw -= _EXCLUDED
    raw.update(_EXTRA_LATIN)
    out = {_tokens(t) for t in raw}
    out.discard(())
    return tuple(sorted(out, key=lambda t: (-len(t), t)))


@lru_cache(maxsize=1)
def latin_prefix_terms() -> tuple[tuple[str, ...], ...]:
    out = {_tokens(t) for t in _PREFIXES_LATIN}
    return tuple(sorted(out, key=lambda t: (-len(t), t)))


@lru_cache(maxsize=1)
def latin_term_set() -> frozenset[tuple[str, ...]]:
    return frozenset(latin_suffix_terms())


def _index(terms: tuple[tuple[str, ...], ...], at: int) -> dict[str, tuple[tuple[str, ...], ...]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    for t in terms:  # each list keeps the terms' order (longest first)
        out.setdefault(t[at], []).append(t)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def suffix_terms_by_first_token() -> dict[str, tuple[tuple[str, ...], ...]]:
    """:func:`latin_suffix_terms` by their first token: only these can start at a given token."""
    return _index(latin_suffix_terms(), 0)


@lru_cache(maxsize=1)
def suffix_terms_by_last_token() -> dict[str, tuple[tuple[str, ...], ...]]:
    """:func:`latin_suffix_terms` by their last token: only these can end a name with it."""
    return _index(latin_suffix_terms(), -1)


@lru_cache(maxsize=1)
def prefix_terms_by_first_token() -> dict[str, tuple[tuple[str, ...], ...]]:
    return _index(latin_prefix_terms(), 0)
