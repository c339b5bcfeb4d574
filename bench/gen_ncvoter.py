"""Generate a synthetic North Carolina ``ncvoter`` file for import and householding benchmarks.

    python bench/gen_ncvoter.py OUT.txt --rows 1000000 --seed 1 [--truth TRUTH.tsv] [--parcels P.csv]

The file follows the current (2022+) ncvoter layout: tab-delimited, header row, every field in
double quotes, CRLF line ends, Windows-1252 text. All people and addresses are made up:

* about 0.45 distinct residences per row, a third of them apartments; each voter spells the unit
  (``APT 2B`` / ``# 2B`` / ``UNIT 2B``), the street type (``ST`` / ``STREET``) and the directional
  (``N`` / ``NORTH``) their own way, so the same residence appears under several spellings;
* some residences are PO boxes and some registrations are ``REMOVED`` (no address);
* about 1 row in 20,000 is malformed: truncated, missing its ncid, an unescaped quote, a bad byte,
  plus merge-conflict and HTML lines between rows.

``--truth`` writes ``ncid<TAB>household``, the answer key for householding (household empty for
REMOVED and PO box rows; malformed rows left out). ``--parcels`` writes the county's parcel layer for
those residences as CSV: one parcel per building for 90% of them, plus vacant lots no one lives on.
The same arguments always produce the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cocoa_importer.formats.ncsbe import CURRENT_COLUMNS

COLUMNS = list(CURRENT_COLUMNS)
TAIL_START = COLUMNS.index("precinct_abbrv")  # district columns: constant per precinct

REMOVED, PO_BOX = -1, -2  # plan entries for rows without a residence
HOUSEHOLDS_PER_ROW = 0.45
APARTMENT_SHARE = 1 / 3
REMOVED_SHARE = 0.04
PO_BOX_SHARE = 0.01
MALFORMED_EVERY = 20_000
BATCH_ROWS = 20_000
PARCEL_SHARE = 0.9  # buildings with a parcel in the layer
VACANT_SHARE = 0.05  # extra parcels where no one is registered
YEAR = 2025

# (county_id, county, [(city, zip), ...])
PLACES = (
    (1, "ALAMANCE", [("BURLINGTON", "27215"), ("GRAHAM", "27253"), ("MEBANE", "27302")]),
    (11, "BUNCOMBE", [("ASHEVILLE", "28801"), ("ASHEVILLE", "28806"), ("WEAVERVILLE", "28787")]),
    (26, "CUMBERLAND", [("FAYETTEVILLE", "28301"), ("FAYETTEVILLE", "28314"), ("HOPE MILLS", "28348")]),
    (32, "DURHAM", [("DURHAM", "27701"), ("DURHAM", "27705"), ("DURHAM", "27713")]),
    (34, "FORSYTH", [("WINSTON SALEM", "27101"), ("WINSTON SALEM", "27106"), ("KERNERSVILLE", "27284")]),
    (41, "GUILFORD", [("GREENSBORO", "27401"), ("GREENSBORO", "27410"), ("HIGH POINT", "27260")]),
    (60, "MECKLENBURG", [("CHARLOTTE", "28202"), ("CHARLOTTE", "28205"), ("MATTHEWS", "28105")]),
    (65, "NEW HANOVER", [("WILMINGTON", "28401"), ("WILMINGTON", "28403")]),
    (68, "ORANGE", [("CHAPEL HILL", "27514"), ("CARRBORO", "27510"), ("HILLSBOROUGH", "27278")]),
    (92, "WAKE", [("RALEIGH", "27601"), ("RALEIGH", "27609"), ("CARY", "27511"), ("APEX", "27502")]),
)

STREET_NAMES = (
    "MAIN ELM OAK PINE MAPLE CEDAR CHURCH MILL SPRING HILLSBOROUGH GREENSBORO-CHAPEL HILL DUKE CLAY "
    "COVINGTON WHITSETT TRYON PEACHTREE MAGNOLIA DOGWOOD LAUREL HICKORY WALNUT CHESTNUT POPLAR SYCAMORE "
    "FRANKLIN WASHINGTON JEFFERSON MADISON JACKSON LEE GRANT WILSON ROOSEVELT KING MARKET BROAD HIGH "
    "WATER RIVER LAKE CREEK FOREST MEADOW VALLEY RIDGE SUMMIT FAIRVIEW PLEASANT HAYWOOD SALEM"
).split()
STREET_TYPES = {
    "ST": "STREET",
    "AVE": "AVENUE",
    "RD": "ROAD",
    "DR": "DRIVE",
    "LN": "LANE",
    "CT": "COURT",
    "BLVD": "BOULEVARD",
    "TRL": "TRAIL",
    "CIR": "CIRCLE",
    "PL": "PLACE",
    "WAY": "WAY",
    "PKWY": "PARKWAY",
}
DIRECTIONS = {"N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST"}
UNIT_DESIGNATORS = ("APT", "APT", "APT", "#", "UNIT", "APT.")

FIRST_NAMES = (
    "JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM BARBARA RICHARD SUSAN "
    "JOSEPH JESSICA THOMAS SARAH CHARLES KAREN CHRISTOPHER LISA DANIEL NANCY MATTHEW BETTY ANTHONY MARGARET "
    "MARK SANDRA KEISHA TYRONE WEI DESHAWN LATOYA HUNTER MADISON BRANDON ASHLEY"
).split()
LAST_NAMES = (
    "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ GONZALEZ "
    "WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS SANCHEZ CLARK "
    "RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL FLORES GREEN ADAMS "
    "NELSON BAKER HALL RIVERA CAMPBELL MITCHELL CARTER ROBERTS LOCKLEAR OXENDINE"
).split()
# Windows-1252 letters and the curly apostrophe (0x92) that real NC names carry.
ACCENTED_FIRST = ("JOSÉ", "MARÍA", "RENÉE", "ZOË", "FRANÇOIS", "JESÚS", "ANDRÉ", "INÉS")
ACCENTED_LAST = ("PEÑA", "MÜLLER", "NÚÑEZ", "O’BRIEN", "GARCÍA", "D’ANGELO", "MUÑOZ", "BJÖRK")
AREA_CODES = ("919", "704", "336", "828", "910", "252")
PARTIES = ("DEM", "DEM", "REP", "REP", "UNA", "UNA", "UNA", "LIB", "GRE")
RACES = ("W", "W", "W", "B", "B", "A", "I", "M", "O", "U")


@dataclass(frozen=True, slots=True)
class Street:
    predir: str
    name: str
    kind: str  # USPS abbreviation, e.g. ST
    county_id: int
    county: str
    city: str
    zip_code: str
    tail: str  # the quoted district columns of its precinct


@dataclass(frozen=True, slots=True)
class Household:
    street: Street
    number: int
    unit: str  # "" for a house


def build_households(rng: random.Random, count: int) -> list[Household]:
    """``count`` distinct residences: houses, and apartment buildings of 4-40 units."""
    streets = build_streets(rng, max(20, count // 60))
    apartments = round(count * APARTMENT_SHARE)
    households: list[Household] = []
    used: set[tuple[int, int]] = set()
    while len(households) < count:
        street_i = rng.randrange(len(streets))
        number = rng.randint(1, 9999)
        if (street_i, number) in used:
            continue
        used.add((street_i, number))
        street = streets[street_i]
        if len(households) < apartments:
            units = min(rng.randint(4, 40), apartments - len(households))
            households.extend(Household(street, number, unit_label(rng, u)) for u in range(units))
        else:
            households.append(Household(street, number, ""))
    return households


def build_streets(rng: random.Random, count: int) -> list[Street]:
    streets = []
    for i in range(count):
        county_id, county, cities = PLACES[i % len(PLACES)]
        city, zip_code = rng.choice(cities)
        precinct = f"{rng.randint(1, 60):02d}{rng.choice('NSEW')}"
        streets.append(
            Street(
                predir=rng.choice(("", "", "", "N", "S", "E", "W")),
                name=rng.choice(STREET_NAMES)
                + ("" if i < len(STREET_NAMES) else f" {rng.choice(STREET_NAMES)}"),
                kind=rng.choice(tuple(STREET_TYPES)),
                county_id=county_id,
                county=county,
                city=city,
                zip_code=zip_code,
                tail=district_tail(rng, precinct, city),
            )
        )
    return streets


def district_tail(rng: random.Random, precinct: str, city: str) -> str:
    values = [""] * (len(COLUMNS) - TAIL_START)
    values[0:4] = [precinct, f"{city} {precinct}", city[:3], city]
    values[6:11] = [
        str(rng.randint(1, 14)),
        "15A",
        "15A",
        str(rng.randint(1, 50)),
        f"{rng.randint(1, 120):03d}",
    ]
    values[-4:] = ["17", "17TH PROSECUTORIAL", precinct, precinct]
    return quoted(values)


def unit_label(rng: random.Random, index: int) -> str:
    floor, door = divmod(index, 4)
    return f"{floor + 1}{'ABCD'[door]}" if rng.random() < 0.5 else str(floor * 4 + door + 1)


def quoted(values: list[str]) -> str:
    return '"' + '"\t"'.join(values) + '"'


def street_line(rng: random.Random, home: Household) -> str:
    """The residence as one voter's registration spells it."""
    street = home.street
    predir = street.predir
    kind = street.kind
    if predir and rng.random() < 0.15:
        predir = DIRECTIONS[predir]
    if rng.random() < 0.2:
        kind = STREET_TYPES[kind]
    line = f"{home.number} {predir} {street.name} {kind}" if predir else f"{home.number} {street.name} {kind}"
    if home.unit:
        designator = rng.choice(UNIT_DESIGNATORS)
        gap = "" if designator == "#" and rng.random() < 0.3 else " "  # "#2B" as well as "# 2B"
        line = f"{line} {designator}{gap}{home.unit}"
    return line


class RowWriter:
    """Formats voter rows; the district columns come pre-quoted from the street."""

    def __init__(self, rng: random.Random, homes: list[Household]) -> None:
        self.rng = rng
        self.homes = homes
        self.no_districts = quoted([""] * (len(COLUMNS) - TAIL_START))

    def row(self, i: int, home_i: int) -> tuple[str, str]:
        """The row text (without line end) and its ncid; ``home_i`` indexes homes or is REMOVED/PO_BOX."""
        rng = self.rng
        home = self.homes[home_i] if home_i >= 0 else None
        county_id, county = (home.street.county_id, home.street.county) if home else (92, "WAKE")
        ncid = f"{'ABCDEFGHJK'[county_id % 10]}{'AMRW'[i % 4]}{100000 + i}"
        first, last = self.name()
        middle = rng.choice(FIRST_NAMES) if rng.random() < 0.8 else ""
        suffix = rng.choice(("JR", "SR", "II", "III")) if rng.random() < 0.05 else ""
        birth_year = rng.randint(1925, 2007)
        status = (
            ["R", "REMOVED", "RL", "MOVED FROM COUNTY"]
            if home_i == REMOVED
            else ["A", "ACTIVE", "AV", "VERIFIED"]
        )
        res, city, state, zip_code = self.residence(home, home_i)
        mail = res if home_i != REMOVED and rng.random() < 0.9 else ""
        phone = f"{rng.choice(AREA_CODES)}{rng.randint(2000000, 9999999)}" if rng.random() < 0.4 else ""
        registered = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1970, 2024)}"
        head = [
            str(county_id), county, f"{i:012d}", ncid, last, first, middle, suffix, *status,
            res, city, state, zip_code,
            mail, "", "", "", city if mail else "", state if mail else "", zip_code if mail else "",
            phone, "N", registered, rng.choice(RACES), rng.choice(("NL", "NL", "HL", "UN")),
            rng.choice(PARTIES), rng.choice("MMFFU"), str(birth_year), str(YEAR - birth_year),
            rng.choice(("NC", "NC", "VA", "NY", "SC", "")), rng.choice("YN"),
        ]  # fmt: skip
        return quoted(head) + "\t" + (home.street.tail if home else self.no_districts), ncid

    def residence(self, home: Household | None, home_i: int) -> tuple[str, str, str, str]:
        """Street line, city, state and ZIP (sometimes ZIP+4 without a hyphen, as NC writes it)."""
        rng = self.rng
        if home is None:
            if home_i == REMOVED:
                return "REMOVED", "", "", ""
            return f"PO BOX {rng.randint(1, 9999)}", "RALEIGH", "NC", "27602"
        zip_code = home.street.zip_code
        if rng.random() < 0.3:
            zip_code += f"{rng.randint(0, 9999):04d}"
        return street_line(rng, home), home.street.city, "NC", zip_code

    def name(self) -> tuple[str, str]:
        rng = self.rng
        first = rng.choice(ACCENTED_FIRST) if rng.random() < 0.02 else rng.choice(FIRST_NAMES)
        last = rng.choice(ACCENTED_LAST) if rng.random() < 0.02 else rng.choice(LAST_NAMES)
        return first, last


def malformed(rng: random.Random, good_row: str) -> list[str]:
    """Lines standing in for one voter row that went wrong in one of the ways real files do."""
    fields = good_row.split("\t")
    kind = rng.randrange(6)
    if kind == 0:  # truncated
        return ["\t".join(fields[: rng.randint(5, 40)])]
    if kind == 1:  # ncid missing
        return ["\t".join([*fields[:3], '""', *fields[4:]])]
    if kind == 2:  # a nickname in unescaped quotes
        return ["\t".join([*fields[:5], fields[5][:-1] + ' "BUDDY""', *fields[6:]])]
    if kind == 3:  # a byte undefined in Windows-1252, kept as a lone surrogate until encoding
        return ["\t".join([*fields[:4], fields[4][:-1] + '\udc81"', *fields[5:]])]
    if kind == 4:  # a merge conflict left in the file
        return ["<<<<<<< HEAD", good_row, "=======", ">>>>>>> upstream/main"]
    return ["<html><body>502 Bad Gateway</body></html>", ""]


def residences(rows: int, seed: int) -> tuple[random.Random, list[Household]]:
    """The file's residences, and the generator's random state after drawing them."""
    rng = random.Random(seed)
    housed = rows - round(rows * REMOVED_SHARE) - round(rows * PO_BOX_SHARE)
    return rng, build_households(rng, max(1, min(housed, round(rows * HOUSEHOLDS_PER_ROW))))


def generate(rows: int, seed: int, clean: bool = False) -> Iterator[tuple[str, str, str]]:
    """(line, ncid, household key) for each line after the header; key "" when not a residence."""
    rng, homes = residences(rows, seed)
    removed, po_boxes = round(rows * REMOVED_SHARE), round(rows * PO_BOX_SHARE)
    housed = rows - removed - po_boxes
    # Every residence gets one voter; the rest are spread at random, so household sizes vary.
    plan = list(range(len(homes)))
    plan += [rng.randrange(len(homes)) for _ in range(housed - len(homes))]
    plan += [REMOVED] * removed + [PO_BOX] * po_boxes
    rng.shuffle(plan)
    writer = RowWriter(rng, homes)
    for i, home_i in enumerate(plan[:rows]):
        line, ncid = writer.row(i, home_i)
        key = str(home_i) if home_i >= 0 else ""
        if not clean and i % MALFORMED_EVERY == MALFORMED_EVERY // 2:
            for bad in malformed(rng, line):
                yield bad, "", ""
            continue
        yield line, ncid, key


def write_file(out: Path, rows: int, seed: int, truth: TextIO | None, clean: bool = False) -> None:
    with out.open("wb") as f:
        f.write((quoted(COLUMNS) + "\r\n").encode("cp1252"))
        batch: list[str] = []
        for line, ncid, key in generate(rows, seed, clean):
            batch.append(line)
            if truth is not None and ncid:
                truth.write(f"{ncid}\t{key}\n")
            if len(batch) >= BATCH_ROWS:
                f.write(encode(batch))
                batch.clear()
        f.write(encode(batch))


def write_parcels(out: Path, rows: int, seed: int) -> int:
    """The parcel layer of the file's residences (see the module docstring); returns its row count."""
    _, homes = residences(rows, seed)
    rng = random.Random(seed + 7919)  # its own stream: the voter file's bytes do not depend on it
    buildings = dict.fromkeys((home.street, home.number) for home in homes)
    written = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["PIN", "SITE_ADDRESS", "SITE_CITY", "SITE_ZIP", "LATITUDE", "LONGITUDE"])
        for street, number in buildings:
            lots = [number] if rng.random() < PARCEL_SHARE else []
            if rng.random() < VACANT_SHARE:
                lots.append(number + 10_000)  # no residence has a number this high
            for lot in lots:
                written += 1
                situs = " ".join(p for p in (str(lot), street.predir, street.name, street.kind) if p)
                latitude, longitude = 34.0 + rng.random() * 2.5, -84.0 + rng.random() * 8.0
                writer.writerow(
                    [f"{street.county_id:03d}-{written:08d}", situs, street.city, street.zip_code,
                     f"{latitude:.6f}", f"{longitude:.6f}"]
                )  # fmt: skip
    return written


def encode(lines: list[str]) -> bytes:
    # surrogateescape turns the deliberate lone surrogates back into their raw bytes.
    return ("\r\n".join(lines) + "\r\n").encode("cp1252", "surrogateescape") if lines else b""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="file to write")
    parser.add_argument("--rows", type=int, default=1_000_000, help="voter rows (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--truth", type=Path, help="also write ncid<TAB>household answer key here")
    parser.add_argument(
        "--clean", action="store_true", help="no malformed rows (so psql \\copy can load it as a speed floor)"
    )
    parser.add_argument("--parcels", type=Path, help="also write the residences' parcel layer here (CSV)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    started = time.perf_counter()
    if args.truth:
        with args.truth.open("w", encoding="utf-8") as truth:
            write_file(args.out, args.rows, args.seed, truth, args.clean)
    else:
        write_file(args.out, args.rows, args.seed, None, args.clean)
    if args.parcels:
        parcels = write_parcels(args.parcels, args.rows, args.seed)
        print(f"wrote {parcels:,} parcels to {args.parcels}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"wrote {args.rows:,} rows to {args.out} in {elapsed:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
