"""USPS Publication 28 street-address normalization.

Two consumers, two keys:

* the importer groups voters into households on ``NormalizedAddress.household_key()``
  (street address + unit number + city/state/ZIP5);
* the geocoder keys its cache and its offline address-point matcher on
  ``NormalizedAddress.location_key()`` (the same without the unit, which geocoders ignore).

Parsing is two-tier. A token-based fast path handles the common shape
``number [fraction] [predir] name... [suffix] [postdir] [designator id]`` in pure Python; whenever it
is unsure (route numbers, text after the street, odd characters) it defers to ``usaddress`` (a CRF
model, ~50x slower), and both tiers feed one component normalizer so that they agree.

Unusable lines raise ``AddressRejected`` whose ``reason`` is one of ``REJECT_REASONS``.
Rural-route boxes (``RR 2 BOX 40``, ``HC 1 BOX 5``) are real residences: they are accepted with an
empty ``house_number`` and the whole route-and-box in ``street_name``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, TypeAlias

import usaddress

# Bump when a change here can change a key, so stored keys can be recomputed.
NORMALIZER_VERSION: Final = "pub28-1"

RejectReason = Literal["po_box", "removed", "no_house_number", "unparseable", "empty"]
REJECT_REASONS: Final[tuple[RejectReason, ...]] = (
    "po_box",
    "removed",
    "no_house_number",
    "unparseable",
    "empty",
)


class AddressRejected(ValueError):
    """The line is not a groupable street address; ``reason`` is one of ``REJECT_REASONS``."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason: RejectReason = reason
        self.message = message


# --------------------------------------------------------------------------------------------------
# Tables (data, one line per standard form: "STANDARD variant variant ...")
# --------------------------------------------------------------------------------------------------

# Pub 28 Appendix C1: street suffixes. First listing wins, so MDW stays MEADOW's abbreviation.
_SUFFIX_TABLE: Final = """
ALY ALLEE ALLEY ALLY
ANX ANEX ANNEX ANNX
ARC ARCADE
AVE AV AVEN AVENU AVENUE AVN AVNUE
BYU BAYOO BAYOU
BCH BEACH
BND BEND
BLF BLUF BLUFF
BLFS BLUFFS
BTM BOT BOTTM BOTTOM
BLVD BOUL BOULEVARD BOULV
BR BRNCH BRANCH
BRG BRDGE BRIDGE
BRK BROOK
BRKS BROOKS
BG BURG
BGS BURGS
BYP BYPA BYPAS BYPASS BYPS
CP CAMP CMP
CYN CANYN CANYON CNYN
CPE CAPE
CSWY CAUSEWAY CAUSWA
CTR CEN CENT CENTER CENTR CENTRE CNTER CNTR
CTRS CENTERS
CIR CIRC CIRCL CIRCLE CRCL CRCLE
CIRS CIRCLES
CLF CLIFF
CLFS CLIFFS
CLB CLUB
CMN COMMON
CMNS COMMONS
COR CORNER
CORS CORNERS
CRSE COURSE
CT COURT
CTS COURTS
CV COVE
CVS COVES
CRK CREEK
CRES CRESCENT CRSENT CRSNT
CRST CREST
XING CROSSING CRSSNG
XRD CROSSROAD
XRDS CROSSROADS
CURV CURVE
DL DALE
DM DAM
DV DIV DIVIDE DVD
DR DRIV DRIVE DRV
DRS DRIVES
EST ESTATE
ESTS ESTATES
EXPY EXP EXPR EXPRESS EXPRESSWAY EXPW
EXT EXTENSION EXTN EXTNSN
EXTS EXTENSIONS
FALL
FLS FALLS
FRY FERRY FRRY
FLD FIELD
FLDS FIELDS
FLT FLAT
FLTS FLATS
FRD FORD
FRDS FORDS
FRST FOREST FORESTS
FRG FORG FORGE
FRGS FORGES
FRK FORK
FRKS FORKS
FT FORT FRT
FWY FREEWAY FREEWY FRWAY FRWY
GDN GARDEN GARDN GRDEN GRDN
GDNS GARDENS GRDNS
GTWY GATEWAY GATEWY GATWAY GTWAY
GLN GLEN
GLNS GLENS
GRN GREEN
GRNS GREENS
GRV GROV GROVE
GRVS GROVES
HBR HARB HARBOR HARBR HRBOR
HBRS HARBORS
HVN HAVEN
HTS HT HEIGHTS
HWY HIGHWAY HIGHWY HIWAY HIWY HWAY
HL HILL
HLS HILLS
HOLW HLLW HOLLOW HOLLOWS HOLWS
INLT INLET
IS ISLAND ISLND
ISS ISLANDS ISLNDS
ISLE ISLES
JCT JCTION JCTN JUNCTION JUNCTN JUNCTON
JCTS JCTNS JUNCTIONS
KY KEY
KYS KEYS
KNL KNOL KNOLL
KNLS KNOLLS
LK LAKE
LKS LAKES
LAND
LNDG LANDING LNDNG
LN LANE
LGT LIGHT
LGTS LIGHTS
LF LOAF
LCK LOCK
LCKS LOCKS
LDG LDGE LODG LODGE
LOOP LOOPS
MALL
MNR MANOR
MNRS MANORS
MDW MEADOW
MDWS MEADOWS MEDOWS
MEWS
ML MILL
MLS MILLS
MSN MISSION MISSN MSSN
MTWY MOTORWAY
MT MNT MOUNT
MTN MNTAIN MNTN MOUNTAIN MOUNTIN MTIN
MTNS MNTNS MOUNTAINS
NCK NECK
ORCH ORCHARD ORCHRD
OVAL OVL
OPAS OVERPASS
PARK PRK PARKS
PKWY PARKWAY PARKWY PKWAY PKY PARKWAYS PKWYS
PASS
PSGE PASSAGE
PATH PATHS
PIKE PIKES
PNE PINE
PNES PINES
PL PLACE
PLN PLAIN
PLNS PLAINS
PLZ PLAZA PLZA
PT POINT
PTS POINTS
PRT PORT
PRTS PORTS
PR PRAIRIE PRR
RADL RAD RADIAL RADIEL
RAMP
RNCH RANCH RANCHES RNCHS
RPD RAPID
RPDS RAPIDS
RST REST
RDG RDGE RIDGE
RDGS RIDGES
RIV RIVER RVR RIVR
RD ROAD
RDS ROADS
RTE ROUTE
ROW
RUE
RUN
SHL SHOAL
SHLS SHOALS
SHR SHOAR SHORE
SHRS SHOARS SHORES
SKWY SKYWAY
SPG SPNG SPRING SPRNG
SPGS SPNGS SPRINGS SPRNGS
SPUR SPURS
SQ SQR SQRE SQU SQUARE
SQS SQRS SQUARES
STA STATION STATN STN
STRA STRAV STRAVEN STRAVENUE STRAVN STRVN STRVNUE
STRM STREAM STREME
ST STREET STRT STR
STS STREETS
SMT SUMIT SUMITT SUMMIT
TER TERR TERRACE
TRWY THROUGHWAY
TRCE TRACE TRACES
TRAK TRACK TRACKS TRK TRKS
TRFY TRAFFICWAY
TRL TRAIL TRAILS TRLS
TRLR TRAILER TRLRS
TUNL TUNEL TUNLS TUNNEL TUNNELS TUNNL
TPKE TRNPK TURNPIKE TURNPK
UPAS UNDERPASS
UN UNION
UNS UNIONS
VLY VALLEY VALLY VLLY
VLYS VALLEYS
VIA VDCT VIADCT VIADUCT
VW VIEW
VWS VIEWS
VLG VILL VILLAG VILLAGE VILLG VILLIAGE
VLGS VILLAGES
VL VILLE
VIS VIST VISTA VST VSTA
WALK WALKS
WALL
WAY WY
WAYS
WL WELL
WLS WELLS
"""

# Pub 28 Appendix C2: secondary unit designators, plus the "#" family ("NO 5", "NUMBER 5").
_UNIT_TABLE: Final = """
APT APARTMENT APTS
BSMT BASEMENT
BLDG BUILDING BLD
DEPT DEPARTMENT
FL FLOOR FLR
FRNT FRONT
HNGR HANGAR
KEY
LBBY LOBBY
LOT
LOWR LOWER
OFC OFFICE
PH PENTHOUSE
PIER
REAR
RM ROOM
SIDE
SLIP
SPC SPACE SP
STOP
STE SUITE
TRLR TRAILER
UNIT
UPPR UPPER
# NO NUMBER NBR
"""

# C2 designators that need no number: the designator itself tells the dwellings apart.
_STANDALONE_UNITS: Final = frozenset({"BSMT", "FRNT", "LBBY", "LOWR", "OFC", "PH", "REAR", "SIDE", "UPPR"})

_DIRECTION_TABLE: Final = """
N NORTH
S SOUTH
E EAST
W WEST
NE NORTHEAST
NW NORTHWEST
SE SOUTHEAST
SW SOUTHWEST
"""

_STATE_TABLE: Final = """
AL ALABAMA
AK ALASKA
AZ ARIZONA
AR ARKANSAS
CA CALIFORNIA
CO COLORADO
CT CONNECTICUT
DE DELAWARE
DC DISTRICT_OF_COLUMBIA
FL FLORIDA
GA GEORGIA
HI HAWAII
ID IDAHO
IL ILLINOIS
IN INDIANA
IA IOWA
KS KANSAS
KY KENTUCKY
LA LOUISIANA
ME MAINE
MD MARYLAND
MA MASSACHUSETTS
MI MICHIGAN
MN MINNESOTA
MS MISSISSIPPI
MO MISSOURI
MT MONTANA
NE NEBRASKA
NV NEVADA
NH NEW_HAMPSHIRE
NJ NEW_JERSEY
NM NEW_MEXICO
NY NEW_YORK
NC NORTH_CAROLINA
ND NORTH_DAKOTA
OH OHIO
OK OKLAHOMA
OR OREGON
PA PENNSYLVANIA
RI RHODE_ISLAND
SC SOUTH_CAROLINA
SD SOUTH_DAKOTA
TN TENNESSEE
TX TEXAS
UT UTAH
VT VERMONT
VA VIRGINIA
WA WASHINGTON
WV WEST_VIRGINIA
WI WISCONSIN
WY WYOMING
PR PUERTO_RICO
VI VIRGIN_ISLANDS
GU GUAM
AS AMERICAN_SAMOA
MP NORTHERN_MARIANA_ISLANDS
AA
AE
AP
"""


def _variant_table(text: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for line in text.strip().splitlines():
        standard, *variants = line.split()
        for word in (standard, *variants):
            table.setdefault(word.replace("_", " "), standard)
    return table


SUFFIXES: Final[dict[str, str]] = _variant_table(_SUFFIX_TABLE)
UNIT_DESIGNATORS: Final[dict[str, str]] = _variant_table(_UNIT_TABLE)
DIRECTIONS: Final[dict[str, str]] = _variant_table(_DIRECTION_TABLE)
STATES: Final[dict[str, str]] = _variant_table(_STATE_TABLE)

# Route names keep their number in the street name ("HIGHWAY 54"); abbreviations are spelled out
# there (only right before a number) so "HWY 54" and "HIGHWAY 54" key alike.
_ROUTE_ABBREVIATIONS: Final = {
    "HWY": "HIGHWAY",
    "HIWAY": "HIGHWAY",
    "HIGHWY": "HIGHWAY",
    "HIWY": "HIGHWAY",
    "HWAY": "HIGHWAY",
    "RTE": "ROUTE",
    "RT": "ROUTE",
    "RD": "ROAD",
    "CR": "COUNTY ROAD",
    "SR": "STATE ROUTE",
    "IH": "INTERSTATE",
    "I": "INTERSTATE",
}
_ROUTE_QUALIFIERS: Final = {"CO": "COUNTY", "ST": "STATE"}
_ROUTE_WORDS: Final = frozenset(
    {*_ROUTE_ABBREVIATIONS, "HIGHWAY", "ROUTE", "ROAD", "INTERSTATE", "US", "FM", "RM", "SH", "SPUR", "LOOP"}
)
# "MAIN RD 4" is unit 4 but "COUNTY RD 4" a road number: ROAD needs a qualifier to count as a route.
_ROAD_QUALIFIERS: Final = frozenset(
    {
        "COUNTY",
        "CO",
        "STATE",
        "ST",
        "TOWNSHIP",
        "TWP",
        "FOREST",
        "PARISH",
        "MARKET",
        "FARM",
        "RANCH",
        "PRIVATE",
        "PVT",
    }
)
# A bare number after these suffixes (or after a qualified ROAD) is a route number, never a unit.
_ROUTE_SUFFIXES: Final = frozenset({"HWY", "RTE", "FWY", "EXPY", "TPKE", "PIKE", "LOOP", "SPUR", "PKWY"})

_REMOVED_SIGNALS: Final = frozenset(
    {
        "REMOVED",
        "CONFIDENTIAL",
        "CONFIDENTIALITY",
        "REDACTED",
        "WITHHELD",
        "SUPPRESSED",
        "PROTECTED",
        "EXEMPT",
    }
)
_REMOVED_FILLER: Final = frozenset({"ADDRESS", "PROGRAM", "ACP", *_REMOVED_SIGNALS})

# --------------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------------

_HOUSE_NUMBER_RE: Final = re.compile(r"\d+[A-Z]?(?:-\d+[A-Z]?)?|\d+-[A-Z]")
_FRACTION_RE: Final = re.compile(r"\d+/\d+")
_UNIT_ID_RE: Final = re.compile(r"[A-Z0-9-]*\d[A-Z0-9-]*|[A-Z]")
_NAME_TOKEN_RE: Final = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_ORDINAL_RE: Final = re.compile(r"(\d+)(?:ST|ND|RD|TH)")
_INTERSTATE_RE: Final = re.compile(r"I-(\d+)")
_PO_BOX_RE: Final = re.compile(
    r"(?:P ?O ?B(?:OX|X)?|POST OFFICE (?:BOX|DRAWER)|POST BOX|P ?O DRAWER|GENERAL DELIVERY)(?![A-Z])"
    r"|(?:BOX|DRAWER|CALLER|LOCK ?BOX) ?#? ?\d"
)
_RURAL_ROUTE_RE: Final = re.compile(
    r"(RR|RFD|RURAL ROUTE|RURAL RTE|HC|HCR|HIGHWAY CONTRACT|STAR ROUTE) ?(\d+[A-Z]?) (?:BOX|BX) ?#? ?([A-Z0-9-]+)"
)
_ZIP_RE: Final = re.compile(r"(\d{3,5})(?:[- ]?\d{4})?")
_ZIP5_PREFIX_RE: Final = re.compile(r"(\d{5})(?!\d)")
# Periods inside initials ("P.O.", "N.E.") join the letters; other periods become spaces.
_INITIALS_RE: Final = re.compile(r"\b([A-Z])\.(?=[A-Z]\b)")
# "-" survives only next to a digit (123-45, 4-B, I-95), "/" only between digits (1/2).
_LOOSE_HYPHEN_RE: Final = re.compile(r"(?<![0-9])-(?![0-9])")
_LOOSE_SLASH_RE: Final = re.compile(r"(?<![0-9])/|/(?![0-9])")

_PUNCTUATION: Final = str.maketrans(
    {
        **dict.fromkeys(',;:"()[]{}<>!?*_=+|\\@$%^~\t\r\n\f\v', " "),
        **dict.fromkeys("'`’‘", None),
        "#": " # ",
        "⁄": "/",
    }
)
# NFKC turns "½" into "1⁄2", which would glue onto the house number; split it off first.
_VULGAR_FRACTIONS: Final = str.maketrans({"½": " 1/2", "¼": " 1/4", "¾": " 3/4", "⅓": " 1/3", "⅔": " 2/3"})

# --------------------------------------------------------------------------------------------------
# Result type
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormalizedAddress:
    """A Pub 28 residential address; every field is uppercase ASCII-ish text, "" when absent."""

    house_number: str
    predir: str
    street_name: str
    suffix: str
    postdir: str
    unit_type: str
    unit: str
    city: str
    state: str
    zip5: str

    def street_line(self) -> str:
        """Delivery line, e.g. ``1234 N MAIN ST APT 2``."""
        parts = (self.house_number, self.predir, self.street_name, self.suffix, self.postdir)
        return " ".join(p for p in (*parts, self.unit_type, self.unit) if p)

    def one_line(self) -> str:
        """``1234 N MAIN ST APT 2, RALEIGH, NC 27601``."""
        state_zip = " ".join(p for p in (self.state, self.zip5) if p)
        return ", ".join(p for p in (self.street_line(), self.city, state_zip) if p)

    def household_key(self) -> str:
        """Dwelling identity: the location plus the unit *number* (``APT 2`` = ``# 2`` = ``UNIT 2``)."""
        return f"{self.location_key()}|{unit_identity(self.unit_type, self.unit)}"

    def location_key(self) -> str:
        """Building identity without the unit, for geocode caching and address-point matching."""
        return "|".join(
            (
                self.house_number,
                self.predir,
                self.street_name,
                self.suffix,
                self.postdir,
                self.city,
                self.state,
                self.zip5,
            )
        )


def unit_identity(unit_type: str, unit: str) -> str:
    """The part of a unit that tells dwellings apart: ids without their designators.

    Numbered designators (APT, UNIT, #, STE, LOT...) are dropped and standalone ones (REAR, PH, UPPR)
    kept; ids lose hyphens, and all-digit ids their leading zeros (``APT 087`` = ``# 87``, ``2-B`` = ``2B``).
    """
    words = [unit_type] if unit_type in _STANDALONE_UNITS else []
    for token in unit.split():
        standard = UNIT_DESIGNATORS.get(token)
        if standard is None:
            ident = token.replace("-", "")
            words.append((ident.lstrip("0") or "0") if ident.isdigit() else ident)
        elif standard in _STANDALONE_UNITS:
            words.append(standard)
    return " ".join(words)


# --------------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------------


def parse_street_line(line: str, city: str = "", state: str = "", zip_code: str = "") -> NormalizedAddress:
    """Normalize one street line (number, street and unit; no city) plus its separate place fields.

    Raises ``AddressRejected`` for PO boxes, removed/confidential rows, lines without a house number,
    and lines neither tier can read.
    """
    tokens = _tokens(line)
    if not tokens:
        raise AddressRejected("empty", "street line is empty")
    place = _place(city, state, zip_code)
    if not tokens[0][0].isdigit():
        return _parse_without_leading_number(tokens, place)
    parts = _fast_parse(tokens)
    if parts is None:
        return _parse_with_usaddress(" ".join(tokens), place)
    return _build(*parts, place)


def from_parts(
    house_number: str,
    predir: str,
    street_name: str,
    suffix: str,
    postdir: str,
    unit_type: str,
    unit: str,
    city: str,
    state: str,
    zip_code: str,
    fraction: str = "",
) -> NormalizedAddress:
    """Normalize an address a source already split into parts (FL, WA, CA county files)."""
    number = " ".join(_tokens(f"{house_number} {fraction}"))
    name = _tokens(street_name)
    if not number:
        if not name:
            raise AddressRejected("empty", "no house number and no street name")
        _reject_numberless(name)
    if not any(c.isdigit() for c in number):
        raise AddressRejected("no_house_number", f"house number {house_number!r} has no digits")
    pre, suf, post = _clean_text(predir), _clean_text(suffix), _clean_text(postdir)
    if not (pre or suf or post):
        # Sources that leave the type columns empty often put "MAIN ST" in the name column.
        pre, name, suf, post = _split_street(name) or ("", name, "", "")
    else:
        pre, name = _direction_or_name(pre, name)
        suf = SUFFIXES.get(suf, suf)
        post = DIRECTIONS.get(post, post)
    if not name:
        raise AddressRejected("unparseable", f"no street name with house number {house_number!r}")
    unit_tokens = _tokens(f"{unit_type} {unit}")
    groups = _parse_unit_groups(unit_tokens) if unit_tokens else []
    if groups is None:
        kind = _clean_text(unit_type)
        groups = [(UNIT_DESIGNATORS.get(kind, kind) or "#", _clean_text(unit))]
    place = _place(city, state, zip_code)
    return _build(number, pre, name, suf, post, groups, place)


@lru_cache(maxsize=16384)  # a voter file has a few thousand (city, state, ZIP) combinations
def _place(city: str, state: str, zip_code: str) -> tuple[str, str, str]:
    return _clean_text(city), normalize_state(state), normalize_zip(zip_code)


def normalize_zip(value: str) -> str:
    """ZIP5 from ``27601``, ``27601-1234``, ``276011234``, Excel's ``="02110"``/``27601.0``, or ``""``.

    Excel drops leading zeros, and no real ZIP has fewer than five digits, so 3-4 digit values (and
    7-8 digit ZIP+4s) are left-padded: ``2110`` -> ``02110``, ``501`` -> ``00501`` (Holtsville, NY).
    """
    if len(value) == 5 and value.isascii() and value.isdigit():  # the common case, without regexes
        return "" if value == "00000" else value
    text = value.strip().strip("=\"' ")
    text = text.removesuffix(".0")
    match = _ZIP_RE.fullmatch(text) or _ZIP5_PREFIX_RE.match(text)
    if match is None:
        return ""
    zip5 = match.group(1).zfill(5)
    return "" if zip5 == "00000" else zip5


def normalize_state(value: str) -> str:
    """Two-letter USPS state code from a code or a full name; ``""`` when unknown."""
    return STATES.get(_clean_text(value), "")


# --------------------------------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Uppercase, NFKC, diacritics folded, punctuation stripped per Pub 28, split on whitespace."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_VULGAR_FRACTIONS))
        # Pub 28 lines are ASCII: cp1252 "PEÑA" and a clerk's "PENA" must key alike.
        text = unicodedata.normalize("NFKC", "".join(c for c in text if not unicodedata.combining(c)))
    text = text.upper().translate(_PUNCTUATION)
    if "." in text:
        text = _INITIALS_RE.sub(r"\1", text).replace(".", " ")
    loose = "-" in text or "/" in text
    if loose:
        text = _LOOSE_SLASH_RE.sub(" ", _LOOSE_HYPHEN_RE.sub(" ", text))
    tokens = text.split()
    if loose:
        tokens = [t for t in (t.strip("-/") for t in tokens) if t]
    return tokens


def _clean_text(text: str) -> str:
    return " ".join(_tokens(text)) if text else ""


# --------------------------------------------------------------------------------------------------
# Fast path
# --------------------------------------------------------------------------------------------------

_Groups: TypeAlias = list[tuple[str, str]]
_Parts: TypeAlias = tuple[str, str, list[str], str, str, _Groups]


def _fast_parse(tokens: list[str]) -> _Parts | None:
    """``number [fraction] street [unit]`` or None when the shape is not clearly that."""
    number = tokens[0]
    if not _HOUSE_NUMBER_RE.fullmatch(number):
        return None
    start = 1
    if len(tokens) > 1 and _FRACTION_RE.fullmatch(tokens[1]):
        number, start = f"{number} {tokens[1]}", 2
    rest = tokens[start:]
    cut, groups = _split_unit_tail(rest)
    street = _split_street(rest[:cut])
    if street is None or not _name_is_plain(street[1]):
        return None
    predir, name, suffix, postdir = street
    return number, predir, name, suffix, postdir, groups


def _split_unit_tail(rest: list[str]) -> tuple[int, _Groups]:
    """Where the unit starts in ``rest`` (len(rest) if none) and its parsed designator/id groups."""
    for j in range(1, len(rest)):
        if rest[j] in UNIT_DESIGNATORS:
            groups = _parse_unit_groups(rest[j:])
            # A lone "REAR"/"FRONT" is only a unit after a complete street ("WEST SIDE" is a street).
            if groups is not None and (groups[0][1] or _street_is_complete(rest[:j])):
                return j, groups
    last = rest[-1] if rest else ""
    if (
        len(rest) >= 3
        and last not in DIRECTIONS
        and _UNIT_ID_RE.fullmatch(last)
        and _street_is_complete(rest[:-1])
    ):
        return len(rest) - 1, [("#", last)]  # "12 MAIN ST 2B": Pub 28 writes an unknown designator as "#"
    return len(rest), []


def _street_is_complete(street: list[str]) -> bool:
    """Ends in a (non-route) suffix [+ postdir] after a real name word, so a bare id can follow."""
    k = len(street) - 1
    if k >= 1 and street[k] in DIRECTIONS:
        k -= 1
    suffix = SUFFIXES.get(street[k])
    if k < 1 or suffix is None or suffix in _ROUTE_SUFFIXES:
        return False
    if suffix == "RD" and street[k - 1] in _ROAD_QUALIFIERS:
        return False  # "COUNTY RD 12"
    return any(t not in DIRECTIONS for t in street[:k])


def _split_street(street: list[str]) -> tuple[str, list[str], str, str] | None:
    """(predir, name tokens, suffix, postdir); each strip must leave a name ("N ST", "E ST NW")."""
    lo, hi = 0, len(street)
    if hi == 0:
        return None
    predir = suffix = postdir = ""
    # "AVENUE N" (Brooklyn) is a name, not AVE + postdir.
    if hi >= 2 and street[-1] in DIRECTIONS and not (hi == 2 and SUFFIXES.get(street[0]) == "AVE"):
        postdir, hi = DIRECTIONS[street[-1]], hi - 1
    if hi - lo >= 2 and street[hi - 1] in SUFFIXES:
        suffix, hi = SUFFIXES[street[hi - 1]], hi - 1
    if hi - lo >= 2 and street[lo] in DIRECTIONS:
        predir, lo = DIRECTIONS[street[lo]], lo + 1
    return predir, street[lo:hi], suffix, postdir


def _name_is_plain(name: list[str]) -> bool:
    """Plain words; numbers only first ("1ST", "1700") or after a route word ("HIGHWAY 61")."""
    for i, token in enumerate(name):
        if not _NAME_TOKEN_RE.fullmatch(token):
            return False
        if i and not token.isalpha() and not _is_route_number(name, i):
            return False
    return bool(name)


def _is_route_number(name: list[str], i: int) -> bool:
    before = name[i - 1]
    if before in ("ROAD", "RD"):
        return i >= 2 and name[i - 2] in _ROAD_QUALIFIERS
    return before in _ROUTE_WORDS


def _parse_unit_groups(tokens: list[str]) -> _Groups | None:
    """``APT 2``, ``# 2``, ``APT # 2``, ``BLDG 3 APT 12``, ``REAR``, ``PH 2``, ``2ND FL`` -> groups."""
    groups: _Groups = []
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        designator = UNIT_DESIGNATORS.get(token)
        if designator is None:
            ordinal = _ORDINAL_RE.fullmatch(token)
            if ordinal and i + 1 < n and UNIT_DESIGNATORS.get(tokens[i + 1]) == "FL":
                groups.append(("FL", ordinal.group(1)))
                i += 2
            elif not _UNIT_ID_RE.fullmatch(token):
                return None
            elif groups and not groups[-1][1]:
                groups[-1] = (groups[-1][0], token)  # "PH 2": a standalone designator may carry an id
                i += 1
            else:
                kind, ident = groups[-1] if groups else ("#", "")
                groups[-1:] = [(kind, f"{ident} {token}".strip())]  # "APT 2 B", or a bare leading id
                i += 1
            continue
        i += 1
        while i < n and UNIT_DESIGNATORS.get(tokens[i]) == "#":
            i += 1  # "APT # 2", "APT NO 2"
        ident = ""
        if i < n and tokens[i] not in UNIT_DESIGNATORS and _UNIT_ID_RE.fullmatch(tokens[i]):
            ident, i = tokens[i], i + 1
        groups.append((designator, ident))
    return groups


# --------------------------------------------------------------------------------------------------
# Lines that do not start with a number; usaddress fallback
# --------------------------------------------------------------------------------------------------


def _parse_without_leading_number(tokens: list[str], place: tuple[str, str, str]) -> NormalizedAddress:
    _reject_numberless(tokens)
    rural = _RURAL_ROUTE_RE.fullmatch(" ".join(tokens))
    if rural is not None:
        kind = "HC" if rural.group(1) in ("HC", "HCR", "HIGHWAY CONTRACT", "STAR ROUTE") else "RR"
        return _build("", "", [kind, rural.group(2), "BOX", rural.group(3)], "", "", [], place)
    if not any(c.isdigit() for t in tokens for c in t):
        raise AddressRejected("no_house_number", "no digits in street line")
    return _parse_with_usaddress(" ".join(tokens), place)  # "APT 2 123 MAIN ST" still has a number


def _reject_numberless(tokens: list[str]) -> None:
    """Raise for removed/confidential rows and PO boxes; return for anything else."""
    if _REMOVED_SIGNALS.intersection(tokens) and _REMOVED_FILLER.issuperset(tokens):
        raise AddressRejected("removed", "address withheld by the source")
    if _PO_BOX_RE.match(" ".join(tokens)):
        raise AddressRejected("po_box", "PO box or general delivery is not a residence")


# usaddress label -> (component, order rank); street components must appear in rank order.
_LABELS: Final[dict[str, tuple[str, int]]] = {
    "AddressNumberPrefix": ("number", 0),
    "AddressNumber": ("number", 0),
    "AddressNumberSuffix": ("number", 0),
    "StreetNamePreDirectional": ("predir", 1),
    "StreetNamePreModifier": ("name", 2),
    "StreetNamePreType": ("name", 2),
    "StreetName": ("name", 2),
    "StreetNamePostType": ("suffix", 3),
    "StreetNamePostModifier": ("postmod", 3),
    "StreetNamePostDirectional": ("postdir", 4),
    "OccupancyType": ("unit", -1),
    "OccupancyIdentifier": ("unit", -1),
    "SubaddressType": ("unit", -1),
    "SubaddressIdentifier": ("unit", -1),
    "PlaceName": ("city", 5),
    "StateName": ("state", 6),
    "ZipCode": ("zip", 7),
}


def _parse_with_usaddress(text: str, place: tuple[str, str, str]) -> NormalizedAddress:
    parts = _usaddress_components(text)
    number = _join_number(parts.get("number", []))
    name, raw_suffix = parts.get("name", []), parts.get("suffix", [])
    if not name:
        raise AddressRejected("unparseable", f"no street name in {text!r}")
    if not any(c.isdigit() for c in number):
        raise AddressRejected("no_house_number", f"no house number in {text!r}")
    if any(i and t == number and not _is_route_number(name, i) for i, t in enumerate(name)):
        # usaddress tags "123 MAIN ST 123 MAIN ST" as one long street name.
        raise AddressRejected("unparseable", f"house number repeated inside {text!r}")
    suffix = SUFFIXES.get(" ".join(raw_suffix), "")
    if (raw_suffix and not suffix) or parts.get("postmod"):
        name, suffix = [*name, *raw_suffix, *parts.get("postmod", [])], ""  # keep unknown words, in order
    predir, name = _direction_or_name(" ".join(parts.get("predir", [])), name)
    raw_postdir = " ".join(parts.get("postdir", []))
    postdir = DIRECTIONS.get(raw_postdir, "")
    if raw_postdir and not postdir:
        name = [*name, raw_postdir]
    unit_tokens = parts.get("unit", [])
    groups = _parse_unit_groups(unit_tokens) if unit_tokens else []
    if groups is None:
        groups = [("#", " ".join(unit_tokens))]
    city, state, zip5 = place
    place = (
        city or " ".join(parts.get("city", [])),
        state or normalize_state(" ".join(parts.get("state", []))),
        zip5 or normalize_zip(" ".join(parts.get("zip", []))),
    )
    return _build(number, predir, name, suffix, postdir, groups, place)


def _usaddress_components(text: str) -> dict[str, list[str]]:
    """Group usaddress tokens by component, rejecting boxes, intersections and repeated streets."""
    parts: dict[str, list[str]] = {}
    last_component = ""
    highest = -1
    for token, label in usaddress.parse(text):
        if label.startswith("USPSBox"):
            raise AddressRejected("po_box", f"usaddress tagged {text!r} as a box")
        if label not in _LABELS:
            raise AddressRejected("unparseable", f"{label} in {text!r}")
        component, order = _LABELS[label]
        if order >= 0:
            # "123 MAIN ST 123 MAIN ST" tags fine but is garbage: components may not go backwards.
            restarted = component in parts and component != last_component
            if order < highest or restarted:
                raise AddressRejected("unparseable", f"repeated or out-of-order {label} in {text!r}")
            highest = order
        last_component = component
        parts.setdefault(component, []).append(token.strip("#") if component == "number" else token)
    return parts


def _join_number(tokens: list[str]) -> str:
    """usaddress splits "123 1/2" and "123 A"; fractions stay spaced, letters attach."""
    number = ""
    for token in tokens:
        number = f"{number} {token}" if number and "/" in token else number + token
    return number


def _direction_or_name(raw: str, name: list[str]) -> tuple[str, list[str]]:
    """A non-direction in a direction column belongs to the name ("OLD" tagged as predir)."""
    if not raw:
        return "", name
    direction = DIRECTIONS.get(raw)
    return (direction, name) if direction else ("", [raw, *name])


# --------------------------------------------------------------------------------------------------
# Assembly shared by all paths
# --------------------------------------------------------------------------------------------------


def _build(
    number: str,
    predir: str,
    name: list[str],
    suffix: str,
    postdir: str,
    groups: _Groups,
    place: tuple[str, str, str],
) -> NormalizedAddress:
    unit_type, unit = _unit_fields(groups)
    city, state, zip5 = place
    street_name = " ".join(_expand_routes(name))
    return NormalizedAddress(number, predir, street_name, suffix, postdir, unit_type, unit, city, state, zip5)


def _unit_fields(groups: _Groups) -> tuple[str, str]:
    """First designator is the display type; later groups ride along in ``unit`` ("3 APT 12")."""
    if not groups:
        return "", ""
    (kind, ident), later = groups[0], groups[1:]
    unit = " ".join(p for p in (ident, *(f"{k} {i}".strip() for k, i in later)) if p)
    return kind, unit


def _expand_routes(name: list[str]) -> list[str]:
    """``HWY 54`` -> ``HIGHWAY 54``, ``CO RD 12``/``CR 12`` -> ``COUNTY ROAD 12``, ``I-95`` -> ``INTERSTATE 95``."""
    out: list[str] = []
    last = len(name) - 1
    for i, token in enumerate(name):
        interstate = _INTERSTATE_RE.fullmatch(token)
        if interstate:
            out += ["INTERSTATE", interstate.group(1)]
        elif i < last and token in _ROUTE_ABBREVIATIONS and name[i + 1][:1].isdigit():
            out += _ROUTE_ABBREVIATIONS[token].split()
        elif i < last - 1 and token in _ROUTE_QUALIFIERS and _is_route_word_before_number(name, i + 1):
            out.append(_ROUTE_QUALIFIERS[token])
        else:
            out.append(token)
    return out


def _is_route_word_before_number(name: list[str], i: int) -> bool:
    word = _ROUTE_ABBREVIATIONS.get(name[i], name[i])
    return word in ("HIGHWAY", "ROUTE", "ROAD") and name[i + 1][:1].isdigit()
