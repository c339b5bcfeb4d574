"""bench/gen_ncvoter.py writes a file the ncsbe reader takes apart exactly as planned."""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

import pytest

from cocoa_importer.formats import RowError, VoterRow, open_reader
from cocoa_importer.parcels import ParcelRecord, read_parcels

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gen_ncvoter.py"
ROWS = 40_000


def generate(out: Path, *extra: str, rows: int = ROWS, seed: int = 7) -> None:
    command = [sys.executable, str(SCRIPT), str(out), "--rows", str(rows), "--seed", str(seed), *extra]
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("gen")
    generate(folder / "ncvoter.txt", "--truth", str(folder / "truth.tsv"))
    return folder / "ncvoter.txt", folder / "truth.tsv"


def test_gen_ncvoter_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a.txt", rows=2_000)
    generate(tmp_path / "b.txt", rows=2_000)
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


def test_gen_ncvoter_writes_a_windows_1252_ncvoter_file(generated: tuple[Path, Path]) -> None:
    data = generated[0].read_bytes()
    assert data.startswith(b'"county_id"\t"county_desc"\t"voter_reg_num"\t"ncid"')
    assert "PEÑA".encode("cp1252") in data


def test_gen_ncvoter_rows_read_back_with_a_few_malformed(generated: tuple[Path, Path]) -> None:
    with generated[0].open("rb") as f:
        items = [item for item, _ in open_reader("ncsbe", f)]
    errors = collections.Counter(item.reason.split(":")[0] for item in items if isinstance(item, RowError))
    good = sum(isinstance(item, VoterRow) for item in items)
    assert ROWS - 10 <= good <= ROWS
    expected = {"merge-conflict marker", "HTML markup", "missing ncid", "undecodable bytes", "too few fields"}
    assert expected >= set(errors)
    assert 0 < errors.total() < 20


def test_gen_ncvoter_has_about_045_residences_per_row_a_third_apartments(
    generated: tuple[Path, Path],
) -> None:
    household_of = dict(line.split("\t") for line in generated[1].read_text().splitlines())
    residences = {key for key in household_of.values() if key}
    assert 0.42 * ROWS < len(residences) < 0.48 * ROWS
    with generated[0].open("rb") as f:
        rows = [item for item, _ in open_reader("ncsbe", f) if isinstance(item, VoterRow)]
    units = {
        household_of[r.source_voter_id]
        for r in rows
        if any(m in r.street_line for m in (" APT", " #", " UNIT"))
    }
    assert 0.28 < len(units) / len(residences) < 0.38


def test_gen_ncvoter_spells_one_residence_several_ways(generated: tuple[Path, Path]) -> None:
    household_of = dict(line.split("\t") for line in generated[1].read_text().splitlines())
    with generated[0].open("rb") as f:
        rows = [item for item, _ in open_reader("ncsbe", f) if isinstance(item, VoterRow)]
    spellings = collections.defaultdict(set)
    for row in rows:
        if key := household_of.get(row.source_voter_id):
            spellings[key].add(row.street_line)
    assert sum(len(variants) > 1 for variants in spellings.values()) > 0.1 * len(spellings)


def test_gen_ncvoter_includes_po_boxes_and_removed_registrations(generated: tuple[Path, Path]) -> None:
    with generated[0].open("rb") as f:
        streets = [item.street_line for item, _ in open_reader("ncsbe", f) if isinstance(item, VoterRow)]
    assert sum(s == "REMOVED" for s in streets) > 0.02 * ROWS
    assert sum(s.startswith("PO BOX") for s in streets) > 0.005 * ROWS


def test_gen_ncvoter_parcel_layer_has_a_parcel_for_most_buildings(tmp_path: Path) -> None:
    generate(tmp_path / "nc.txt", "--parcels", str(tmp_path / "parcels.csv"), rows=4_000)
    with (tmp_path / "parcels.csv").open("rb") as f:
        items = list(read_parcels("csv", f))
    records = [item for item in items if isinstance(item, ParcelRecord)]
    assert len(records) == len(items)
    assert all(r.location_key and r.centroid_latitude for r in records)
    vacant = sum(int(r.house_number) > 10_000 for r in records)
    assert 0.02 < vacant / len(records) < 0.1
