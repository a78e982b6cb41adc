"""OPS / INPADOC legal-event classification the expiry engine reads (normalize/epo_ops.legal_effect)."""

import pytest

from patentscope.normalize.epo_ops import legal_effect


@pytest.mark.parametrize("code,desc,national,effect", [
    ("REG", "Reference to a national code", "POST-GRANT REVIEW", "other"),           # 35 USC 321: not a grant
    ("REG", "Reference to a national code", "POST GRANT REVIEW REQUESTED", "other"),
    ("REG", "Reference to a national code", "PETITION RELATED TO MAINTENANCE FEES GRANTED (ORIGINAL EVENT CODE: PMFG)",
     "reinstatement"),                                                              # 35 USC 41(c): revival
    ("REG", "Reference to a national code", "PETITION TO ACCEPT LATE PAYMENT OF FEE GRANTED", "reinstatement"),
    ("REG", "Reference to a national code", "PETITION TO MAKE SPECIAL GRANTED", "other"),
    ("REG", "Reference to a national code", "PATENT GRANTED", "grant"),
    ("REG", "Reference to a national code", "INTENTION TO GRANT ANNOUNCED", "other"),
    ("REG", "Reference to a national code", "LICENCE GRANTED", "other"),
])
def test_post_grant_review_and_granted_petitions_are_not_grants(code, desc, national, effect):
    assert legal_effect(code, desc, national) == effect
