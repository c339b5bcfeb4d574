"""Throughput of cocoa_common.address: fast path vs the usaddress fallback, on a generated mix.

Run: .venv/bin/python bench/bench_address.py [--n 60000] [--floor-n 3000] [--seed 7]

The mix mirrors a voter file after per-import dedupe: mostly ``number [predir] name suffix [unit]``
lines in varied spelling, plus a tail of shapes only usaddress can settle (units after road
numbers, floors, full one-line addresses). "floor" is the same normalizer forced through
usaddress for every line, i.e. what a usaddress-only importer would manage.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import usaddress

from cocoa_common import address
from cocoa_common.address import AddressRejected, parse_street_line

NAMES = ["MAIN", "Oak Hill", "Martin Luther King Jr", "1st", "42nd", "Greensboro-Chapel Hill", "St James"]
NAMES += ["Elm", "Park", "Lake Shore", "Cedar Ridge", "Washington", "Old Mill", "Pine", "Church", "Maple"]
SUFFIXES = [
    "St",
    "Street",
    "Ave",
    "Avenue",
    "Blvd",
    "Dr",
    "Drive",
    "Rd",
    "Road",
    "Ln",
    "Ct",
    "Cir",
    "Way",
    "Pl",
]
DIRECTIONS = ["", "", "", "N", "S", "E", "W", "North", "SW", "NE"]
UNITS = ["", "", "", "", "Apt {u}", "# {u}", "#{u}", "Unit {u}", "Apt. {u}", "Ste {u}", "{u}", "Lot {u}"]
SLOW_SHAPES = ["{n} Broadway {u}", "{n} Elm St 2nd Floor", "{n} Oak Dr Raleigh NC 27601", "N{n}W{u} Main St"]


def common_line(rng: random.Random) -> str:
    number = str(rng.randint(1, 29999)) + (" 1/2" if rng.random() < 0.01 else "")
    parts = [number, rng.choice(DIRECTIONS), rng.choice(NAMES), rng.choice(SUFFIXES)]
    parts.append(rng.choice(UNITS).format(u=rng.choice(["2", "4B", "101", "C", "12-A"])))
    return " ".join(p for p in parts if p)


def make_mix(n: int, slow_share: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = set()
    while len(lines) < n:
        if rng.random() < slow_share:
            shape = rng.choice(SLOW_SHAPES)
            lines.add(shape.format(n=rng.randint(1, 29999), u=rng.randint(1, 40)))
        else:
            lines.add(common_line(rng))
    return sorted(lines, key=lambda _: rng.random())


def rate(lines: list[str], parse: Callable[[str], object]) -> float:
    start = time.perf_counter()
    for line in lines:
        try:
            parse(line)
        except AddressRejected:
            pass
    return len(lines) / (time.perf_counter() - start)


def split_by_path(lines: list[str]) -> tuple[list[str], list[str]]:
    """(lines the fast path settles, lines that reach usaddress)."""
    fast: list[str] = []
    slow: list[str] = []
    calls = 0
    real = usaddress.parse

    def counting(text: str) -> list[tuple[str, str]]:
        nonlocal calls
        calls += 1
        return real(text)

    usaddress.parse = counting
    try:
        for line in lines:
            before = calls
            try:
                parse_street_line(line)
            except AddressRejected:
                pass
            (slow if calls > before else fast).append(line)
    finally:
        usaddress.parse = real
    return fast, slow


def usaddress_only(line: str) -> object:
    return address._parse_with_usaddress(" ".join(address._tokens(line)), ("", "", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60_000, help="distinct lines in the mix")
    parser.add_argument("--floor-n", type=int, default=3_000, help="lines timed through usaddress only")
    parser.add_argument("--slow-share", type=float, default=0.03, help="share of usaddress-only shapes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    mix = make_mix(args.n, args.slow_share, args.seed)
    fast_lines, slow_lines = split_by_path(mix)
    mixed = rate(mix, parse_street_line)
    fast = rate(fast_lines, parse_street_line)
    fallback = rate(slow_lines, parse_street_line)
    floor = rate(mix[: args.floor_n], usaddress_only)

    print(f"lines={len(mix)} fallback_share={len(slow_lines) / len(mix):.2%}")
    print(f"fast path lines        : {fast:>10,.0f} addr/s ({len(fast_lines)} lines)")
    print(f"fallback lines         : {fallback:>10,.0f} addr/s ({len(slow_lines)} lines)")
    print(f"usaddress only, all    : {floor:>10,.0f} addr/s ({min(args.floor_n, len(mix))} lines)")
    print(f"mixed (real API)       : {mixed:>10,.0f} addr/s")
    print(
        f"BENCH address_normalize value={mixed:.0f} unit=addr/s floor={floor:.0f} ratio={mixed / floor:.1f}"
    )


if __name__ == "__main__":
    main()
