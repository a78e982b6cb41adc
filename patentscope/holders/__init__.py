"""Holders: names as written -> normalized names -> holders -> holder groups at any date.

    normalize.py   one name: legal forms (cleanco + CJK/romanized Japanese), location, persons, bad input
    cluster.py     names -> holders: explainable rules, TF-IDF nearest-neighbour candidates, near misses
    lineage.py     the lineage file: renames, mergers, control, aliases, countries; the group at a date
    overrides.py   the user's overrides file (merge, split, rename, set_group, set_country, set_kind)
    build.py       refresh(con): rebuild the holder tables from parties in one transaction
    resolve.py     one name against the warehouse (or on its own)
    evaluate.py    pairwise precision / recall / F1 on labelled real names

Documented in docs/holders.md. Importing this package opens nothing and reads no file.
"""

from __future__ import annotations

from .build import BuildStats, refresh
from .normalize import HolderName, normalize_name, split_holders

__all__ = ["BuildStats", "HolderName", "normalize_name", "refresh", "split_holders"]
