"""Licensing model: the royalty burden the NdFeB patent wall puts on magnet exporters.

For exporter e, destination market m and year t (docs/royalty.md has the full derivation):

1. Blocking holder groups G(e, m, t): groups with a family in force in m during t whose
   segments overlap e's products, other than e's own group. ``coverage_g`` is the fraction of
   year t during which at least one such family of g is in force (sales are taken as spread
   evenly over the year), ``weight_g`` its weighted family count in force (counts or centrality).
2. Each g has one status for (e, m, t), first match wins:
   ``licensed`` (e holds a licence from g covering m, the segments and t: the licence's rate),
   ``compulsory`` (a compulsory licence in m from a date <= t: its rate),
   ``refused`` (g refuses to license in m: no royalty, but an exclusion risk),
   ``unlicensed`` (g would license at the scenario's rate for unlicensed use).
3. Royalty rate of g: ``coverage_g * rate_g`` (% of net sales; per-kg rates are converted with
   the scenario's price; lump sums are spread over the licence years and the territory's sales).
   ``stack``: the aggregate rate is the sum. ``cap``: the aggregate is min(sum, cap) and split
   among groups in proportion to ``coverage_g * weight_g``.
4. royalties = aggregate rate x sales(e, m, t); burden = royalties / sales.
   Sales at risk = sales x (1 - prod_g over refusing groups (1 - coverage_g * p_exclusion_g,m)).
5. Uncertain inputs (rates, exclusion probabilities) are distributions; a seeded Monte Carlo
   gives P5/P50/P95. A one-at-a-time sensitivity table ranks assumptions by the swing they
   cause. The inverse solves for the rate that would give a target burden.

Everything here is pure: frames and scenario objects in, frames out.
"""

from __future__ import annotations

from .dists import Dist  # noqa: F401
from .engine import (  # noqa: F401
    _EPOCH,
    DETAIL_SCHEMA,
    INVERSE_SCHEMA,
    RESULT_SCHEMA,
    STATUSES,
    Blocking,
    _covered,
    _date_of,
    _day,
    _day_status,
    _exporter_frames,
    _merge,
    _resolve,
    _sales_value,
    _summaries,
    _union_fraction,
    blocking,
    inverse,
    sensitivity,
    simulate,
    threshold_year,
    uncertain_quantities,
    variants,
    waterfill,
    with_rates,
)
from .portfolio import PORTFOLIO_COLUMNS, coverage, expand_ep  # noqa: F401
from .scenario import (  # noqa: F401
    MAX_SAMPLES,
    Compulsory,
    Exporter,
    Licence,
    Rate,
    Refusal,
    Scenario,
    ScenarioError,
    Variant,
    load_scenario,
)
from .store import analysis_missing_message, portfolio_from_warehouse, resolve_groups, run_scenario  # noqa: F401
