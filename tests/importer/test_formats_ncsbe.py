"""North Carolina ncvoter files."""

from __future__ import annotations

import io
import random

import pytest
import voterfiles as vf

from cocoa_importer.formats import HeaderError, Position, RowError, VoterRow, open_reader

VOTERS = vf.sample_voters(6)


def read_all(data: bytes) -> list[tuple[VoterRow | RowError, Position]]:
    return list(open_reader("ncsbe", io.BytesIO(data)))


def rows_of(data: bytes) -> list[VoterRow]:
    rows = [row for row, _ in read_all(data)]
    assert all(isinstance(row, VoterRow) for row in rows), rows
    return rows  # type: ignore[return-value]


def shuffled_columns(lines: list[str], seed: int) -> list[str]:
    table = [line.split("\t") for line in lines]
    order = list(range(len(table[0])))
    random.Random(seed).shuffle(order)
    return ["\t".join(row[i] for i in order) for row in table]


def test_ncsbe_maps_columns_by_header_name_not_position() -> None:
    lines = vf.ncsbe_lines(VOTERS)
    assert rows_of(vf.encode(shuffled_columns(lines, seed=3))) == rows_of(vf.encode(lines))


def test_ncsbe_reads_the_pre_2022_layout_like_the_current_one() -> None:
    current = rows_of(vf.encode(vf.ncsbe_lines(VOTERS)))
    previous = rows_of(vf.encode(vf.ncsbe_lines(VOTERS, vf.NC_PRE_2022)))
    assert previous == current


def test_ncsbe_accepts_the_older_names_of_name_columns() -> None:
    renamed = {"middle_name": "midl_name", "name_suffix_lbl": "name_sufx_cd"}
    columns = [renamed.get(name, name) for name in vf.NC_PRE_2022]
    rows = rows_of(vf.encode(vf.ncsbe_lines(VOTERS, columns)))
    assert [(row.middle_name, row.name_suffix) for row in rows] == [(v.middle, v.suffix) for v in VOTERS]


def test_ncsbe_uses_ncid_as_the_voter_id_and_keeps_voter_reg_num() -> None:
    row = rows_of(vf.encode(vf.ncsbe_lines(VOTERS[:1])))[0]
    assert row.source_voter_id == f"AA{VOTERS[0].voter_id}"
    assert row.extra["voter_reg_num"] == f"{int(VOTERS[0].voter_id):012d}"


def test_ncsbe_fills_the_voter_row() -> None:
    voter = VOTERS[0]
    row = rows_of(vf.encode(vf.ncsbe_lines([voter])))[0]
    assert (row.line, row.first_name, row.last_name, row.middle_name) == (
        2,
        voter.first,
        voter.last,
        voter.middle,
    )
    assert (row.street_line, row.city, row.state, row.zip_code) == (
        voter.street_line,
        voter.city,
        "NC",
        voter.zip_code,
    )
    assert (row.birth_year, row.gender, row.party, row.status) == (
        voter.birth_year,
        voter.gender,
        voter.party,
        "A",
    )
    assert (row.county, row.precinct, row.phone) == ("DURHAM", "08N", voter.phone)


def test_ncsbe_decodes_windows_1252_names() -> None:
    voter = vf.with_changes(VOTERS[0], first="JOSÉ", last="O’BRIEN")
    data = vf.encode(vf.ncsbe_lines([voter]), encoding="cp1252")
    row = rows_of(data)[0]
    assert (row.first_name, row.last_name) == ("JOSÉ", "O’BRIEN")


def test_ncsbe_reads_unquoted_files() -> None:
    quoted = rows_of(vf.encode(vf.ncsbe_lines(VOTERS)))
    assert rows_of(vf.encode(vf.ncsbe_lines(VOTERS, quoted=False))) == quoted


def test_ncsbe_keeps_unescaped_quotes_inside_a_quoted_field() -> None:
    # NC writes nicknames in quotes without doubling them; the field still ends at its tab.
    line = vf.ncsbe_lines([VOTERS[0]])[1].replace(f'"{VOTERS[0].first}"', '"JOHN "JJ""', 1)
    data = vf.encode([vf.ncsbe_lines([])[0], line])
    assert rows_of(data)[0].first_name == 'JOHN "JJ"'


def test_ncsbe_trims_values_padded_with_spaces() -> None:
    line = vf.ncsbe_lines([VOTERS[0]])[1].replace(f'"{VOTERS[0].last}"', f'" {VOTERS[0].last}  "', 1)
    data = vf.encode([vf.ncsbe_lines([])[0], line.replace('""', '" "')])
    row = rows_of(data)[0]
    assert (row.last_name, row.name_suffix) == (VOTERS[0].last, VOTERS[0].suffix)


def test_ncsbe_joins_mailing_lines_into_one_address() -> None:
    voter = vf.with_changes(VOTERS[1], mail_line="PO BOX 12", city="DURHAM", zip_code="27701")
    assert rows_of(vf.encode(vf.ncsbe_lines([voter])))[0].mailing_address == "PO BOX 12, DURHAM, NC 27701"


def test_ncsbe_flags_confidential_registrations_only() -> None:
    lines = vf.ncsbe_lines(VOTERS[:2])
    lines[2] = lines[2].replace('"N"', '"Y"', 1)
    rows = rows_of(vf.encode(lines))
    assert "confidential" not in rows[0].extra
    assert rows[1].extra["confidential"] == "Y"


def test_ncsbe_keeps_a_removed_address_as_data() -> None:
    voter = vf.with_changes(
        VOTERS[0], house_number="REMOVED", street_name="", street_type="", predir="", unit=""
    )
    row = rows_of(vf.encode(vf.ncsbe_lines([voter])))[0]
    assert row.street_line == "REMOVED"


def test_ncsbe_header_matching_ignores_case_spaces_and_quotes() -> None:
    lines = vf.ncsbe_lines(VOTERS[:1], quoted=False)
    lines[0] = "\t".join(f" {name.upper()} " for name in lines[0].split("\t"))
    assert rows_of(vf.encode(lines))[0].source_voter_id == f"AA{VOTERS[0].voter_id}"


def test_ncsbe_header_without_ncid_is_a_header_error() -> None:
    columns = [name for name in vf.NC_CURRENT if name != "ncid"]
    data = vf.encode(vf.ncsbe_lines(VOTERS[:1], columns))
    with pytest.raises(HeaderError, match=r"lacks required column.*ncid"):
        open_reader("ncsbe", io.BytesIO(data))


def test_ncsbe_header_naming_a_used_column_twice_is_a_header_error() -> None:
    columns = [*vf.NC_CURRENT, "last_name"]
    data = vf.encode(vf.ncsbe_lines(VOTERS[:1], columns))
    with pytest.raises(HeaderError, match="'last_name' appears twice"):
        open_reader("ncsbe", io.BytesIO(data))
