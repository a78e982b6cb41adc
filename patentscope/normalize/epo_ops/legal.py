"""INPADOC / OPS legal events -> their effect on a patent's term (grant, lapse, fee paid, ...)."""

from __future__ import annotations

import re

_FEE_PAID = re.compile(r"\b(ANNUAL|RENEWAL|MAINTENANCE)\s+FEES?\s+PAID\b")
_NONPAY = re.compile(r"NON-?PAYMENT|NOT\s+PAID")
# A granted petition about a maintenance fee (e.g. USPTO PMFG "PETITION RELATED TO MAINTENANCE FEES
# GRANTED") accepts a late payment: a revival after a fee lapse (35 USC 41(c)); any other granted
# petition and post-grant proceedings (POST-GRANT REVIEW, 35 USC 321) are not grants of the patent.
_FEE_PETITION = re.compile(r"PETITION.*(MAINTENANCE|FEE).*GRANTED|PETITION.*GRANTED.*(MAINTENANCE|FEE)")
_NOT_GRANT = re.compile(r"PETITION|POST[\s-]*GRANT|INTENTION\s+TO\s+GRANT|LICEN[CS]E")
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("reinstatement", re.compile(r"REINSTAT|RE-ESTABLISH|RESTITUTIO|RESTORATION|REVIVED")),
    ("revocation", re.compile(r"REVOK|REVOCATION|INVALIDAT|NULLITY|DECLARED\s+VOID")),
    ("withdrawal", re.compile(r"WITHDRAWN|WITHDRAWAL")),
    ("expiry", re.compile(r"\bEXPIR(Y|ED|ATION)\b(?!\s+DATE)")),
    ("lapse", re.compile(r"LAPSE|CEASED|NON-?PAYMENT|TRANSLATION\s+NOT\s+FILED|NOT\s+IN\s+FORCE")),
    ("grant", re.compile(r"(?<!POST)\bGRANT(ED)?\b")),
]


def legal_effect(code: str, description: str, national_description: str | None = None, free_text: str | None = None) -> str:
    """Map an INPADOC legal event onto the warehouse ``effect`` vocabulary.

    Read from the event's own words (its description, the national code's description and
    the free text), first rule that matches wins: renewal/annual/maintenance fee paid ->
    ``fee_paid``; reinstated/re-established -> ``reinstatement``; revoked/invalidated ->
    ``revocation``; withdrawn -> ``withdrawal``; expired/expiry/expiration -> ``expiry``;
    lapsed/ceased/non-payment/translation not filed -> ``lapse`` (e.g. PG25, GBPC, BERE, REG MM4A);
    a granted petition about a maintenance fee -> ``reinstatement`` (a revival, 35 USC 41(c));
    granted (not "intention to grant", not post-grant proceedings such as "POST-GRANT REVIEW",
    not other granted petitions or licences) -> ``grant``; anything else -> ``other``.
    For STAA (status) events only the status text counts, not the generic description.
    """
    words = [national_description or "", free_text or ""]
    if code.strip().upper() != "STAA":
        words.insert(0, description or "")
    text = " ".join(words).upper()
    if _FEE_PAID.search(text) and not _NONPAY.search(text):
        return "fee_paid"
    if _FEE_PETITION.search(text):
        return "reinstatement"
    for name, rx in _RULES:
        if rx.search(text):
            if name == "grant" and _NOT_GRANT.search(text):
                continue
            return name
    return "other"
