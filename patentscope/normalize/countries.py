"""Country reference data used to read holder locations (pure data, no I/O).

``ISO_CODES``: the ISO 3166-1 alpha-2 codes (the list of the tz database's public-domain
``iso3166.tab``) plus the former codes patent records still print for old documents
(SU, DD, YU, CS). ``US_STATES``: USPS codes of the states, DC and territories, which
USPTO records print as ``(Detroit, MI)`` for US holders. Eighteen codes are both (``DE`` is
Germany and Delaware, ``IN`` India and Indiana, ...): such a code alone does not tell the
country, and :func:`country_from_code` says so instead of guessing.
"""

from __future__ import annotations

ISO_CODES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
SU DD YU CS
""".split())

US_STATES: frozenset[str] = frozenset("""
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM
NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP
""".split())

# US state names and the abbreviations older USPTO records print ("Detroit, Mich.").
US_STATE_WORDS: frozenset[str] = frozenset("""
ALABAMA ALASKA ARIZONA ARKANSAS CALIFORNIA COLORADO CONNECTICUT DELAWARE FLORIDA GEORGIA HAWAII
IDAHO ILLINOIS INDIANA IOWA KANSAS KENTUCKY LOUISIANA MAINE MARYLAND MASSACHUSETTS MICHIGAN
MINNESOTA MISSISSIPPI MISSOURI MONTANA NEBRASKA NEVADA OHIO OKLAHOMA OREGON PENNSYLVANIA TENNESSEE
TEXAS UTAH VERMONT VIRGINIA WASHINGTON WISCONSIN WYOMING
ALA ARIZ ARK CALIF COLO CONN DEL FLA ILL IND KAN KANS MASS MICH MINN MISS MONT NEB NEBR NEV OKLA
ORE PENN TENN TEX WASH WIS WISC WYO
""".split())

# Country names a holder field sometimes carries alone (then it is not a holder name).
COUNTRY_NAMES: dict[str, str] = {
    "JAPAN": "JP", "NIPPON": "JP", "日本": "JP", "日本国": "JP",
    "CHINA": "CN", "PR CHINA": "CN", "P R CHINA": "CN", "PRC": "CN", "PEOPLES REPUBLIC OF CHINA": "CN",
    "PEOPLE S REPUBLIC OF CHINA": "CN", "中国": "CN", "中华人民共和国": "CN", "中華人民共和国": "CN",
    "KOREA": "KR", "SOUTH KOREA": "KR", "REPUBLIC OF KOREA": "KR", "KOREA REPUBLIC OF": "KR", "대한민국": "KR", "한국": "KR",
    "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "USA": "US", "U S A": "US", "AMERICA": "US",
    "GERMANY": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR", "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB", "UK": "GB",
    "ENGLAND": "GB", "ITALY": "IT", "SPAIN": "ES", "NETHERLANDS": "NL", "THE NETHERLANDS": "NL", "SWITZERLAND": "CH",
    "AUSTRIA": "AT", "BELGIUM": "BE", "SWEDEN": "SE", "FINLAND": "FI", "DENMARK": "DK", "NORWAY": "NO",
    "RUSSIA": "RU", "RUSSIAN FEDERATION": "RU", "INDIA": "IN", "CANADA": "CA", "AUSTRALIA": "AU", "BRAZIL": "BR",
    "TAIWAN": "TW", "台湾": "TW", "HONG KONG": "HK", "SINGAPORE": "SG", "THAILAND": "TH", "VIETNAM": "VN", "VIET NAM": "VN",
    "MALAYSIA": "MY", "ISRAEL": "IL", "ESTONIA": "EE", "SLOVENIA": "SI", "POLAND": "PL", "CZECH REPUBLIC": "CZ",
}


def country_from_code(code: str) -> tuple[str | None, str]:
    """Read a two-letter code as printed in a holder's location.

    Returns (ISO country or None, evidence). A code that is only a US state gives ``US``; one
    that is only a country gives itself; one that is both (``DE``, ``IN``, ``CA`` ...) gives None
    with a note, because the same print form is used for both.
    """
    c = code.upper()
    iso, state = c in ISO_CODES, c in US_STATES
    if state and not iso:
        return "US", f"{c} is a US state code"
    if iso and not state:
        return c, f"{c} is a country code"
    if iso and state:
        return None, f"{c} is both a country code and a US state code (ambiguous)"
    return None, f"{c} is not a country code"
