"""What real files throw at every reader: encodings, quoting, ragged rows, garbage, huge lines."""

from __future__ import annotations

import io
import tracemalloc

import voterfiles as vf

from cocoa_importer.formats import MAX_LINE_BYTES, Position, RowError, VoterRow, open_reader

HEADER = b"id\tlast\tfirst\tcity"
MAPPING = {"source_voter_id": "id", "last_name": "last", "first_name": "first", "city": "city"}
GOOD = b"V1\tSMITH\tANN\tCARY"


def read_tab(*lines: bytes) -> list[tuple[VoterRow | RowError, Position]]:
    data = b"".join(line + b"\r\n" for line in (HEADER, *lines))
    return list(open_reader("csv_mapped", io.BytesIO(data), mapping=MAPPING))


def items(*lines: bytes) -> list[VoterRow | RowError]:
    return [item for item, _ in read_tab(*lines)]


def kinds(*lines: bytes) -> list[str]:
    return [type(item).__name__ for item in items(*lines)]


# --- encodings ----------------------------------------------------------------------------------


def test_utf8_with_or_without_bom_reads_like_windows_1252() -> None:
    lines = vf.simple_csv_lines(vf.sample_voters(5))
    cp1252 = [row for row, _ in open_reader("simple_csv", io.BytesIO(vf.encode(lines)))]
    for bom in (False, True):
        data = vf.encode(lines, encoding="utf-8", bom=bom)
        assert [row for row, _ in open_reader("simple_csv", io.BytesIO(data))] == cp1252


def test_bom_does_not_hide_the_first_header_name() -> None:
    data = vf.encode(["FirstName,LastName", "ANN,SMITH"], encoding="utf-8", bom=True)
    reader = open_reader("simple_csv", io.BytesIO(data))
    assert reader.header == ["FirstName", "LastName"]
    assert [row.first_name for row, _ in reader if isinstance(row, VoterRow)] == ["ANN"]


def test_each_row_is_decoded_on_its_own() -> None:
    rows = items("V1\tPEÑA\tJOSÉ\tCARY".encode(), "V2\tPEÑA\tJOSÉ\tCARY".encode("cp1252"))
    assert [(row.last_name, row.first_name) for row in rows if isinstance(row, VoterRow)] == [
        ("PEÑA", "JOSÉ")
    ] * 2


def test_undecodable_row_is_a_row_error_and_its_neighbours_survive() -> None:
    result = items(GOOD, b"V2\tSM\x81TH\tANN\tCARY", GOOD)
    assert [type(item).__name__ for item in result] == ["VoterRow", "RowError", "VoterRow"]
    error = result[1]
    assert isinstance(error, RowError)
    assert (error.line, error.reason) == (3, "undecodable bytes: neither UTF-8 nor Windows-1252")
    assert error.raw == "V2\tSM\ufffdTH\tANN\tCARY"


def test_nul_bytes_make_a_row_error() -> None:
    assert kinds(GOOD, b"V2\tS\x00MITH\tANN\tCARY") == ["VoterRow", "RowError"]


def test_stray_carriage_return_in_a_value_is_trimmed() -> None:
    (row,) = items(b"V1\tSMITH\r\tANN\tCARY")
    assert isinstance(row, VoterRow)
    assert row.last_name == "SMITH"


# --- quoting ------------------------------------------------------------------------------------


def test_quoted_field_may_span_lines_and_later_line_numbers_stay_right() -> None:
    result = read_tab(b'V1\tSMITH\t"ANN\r\nMARIE"\tCARY', GOOD)
    (first, first_end), (second, _) = result
    assert isinstance(first, VoterRow)
    assert (first.line, first.first_name, first_end.line) == (2, "ANN\nMARIE", 4)
    assert second.line == 4


def test_comma_file_keeps_a_multi_line_address_in_one_row() -> None:
    data = b'FirstName,LastName,address\r\nANN,SMITH,"12 ELM ST\r\nAPT 2"\r\nBO,LEE,1 OAK ST\r\n'
    rows = [row for row, _ in open_reader("simple_csv", io.BytesIO(data))]
    assert [(row.line, row.street_line) for row in rows if isinstance(row, VoterRow)] == [
        (2, "12 ELM ST\nAPT 2"),
        (4, "1 OAK ST"),
    ]


def test_unclosed_quote_costs_only_its_own_line() -> None:
    data = b'FirstName,LastName\r\n"ANN,SMITH\r\nBO,LEE\r\nCY,KIM\r\n'
    rows = [row for row, _ in open_reader("simple_csv", io.BytesIO(data))]
    assert [type(row).__name__ for row in rows] == ["RowError", "VoterRow", "VoterRow"]
    assert isinstance(rows[0], RowError)
    assert rows[0].reason.startswith("quoted field not closed")


def test_doubled_quotes_inside_a_quoted_field_are_unescaped() -> None:
    (row,) = items(b'V1\tSMITH\t"JOHN ""JJ"""\tCARY')
    assert isinstance(row, VoterRow)
    assert row.first_name == 'JOHN "JJ"'


def test_stray_quote_in_a_comma_file_does_not_swallow_the_next_lines() -> None:
    data = b'FirstName,LastName\r\nANN,O"NEIL\r\nBO,LEE\r\nCY,"KIM\r\n'
    rows = [row for row, _ in open_reader("simple_csv", io.BytesIO(data))]
    assert [(row.line, type(row).__name__) for row in rows] == [
        (2, "VoterRow"),
        (3, "VoterRow"),
        (4, "RowError"),
    ]
    assert isinstance(rows[0], VoterRow)
    assert rows[0].last_name == 'O"NEIL'


def test_odd_unescaped_quote_inside_a_quoted_field_is_data() -> None:
    first, second = items(b'"V1"\t"O"NEIL"\t"ANN"\t"CARY"', GOOD)
    assert isinstance(first, VoterRow)
    assert (first.last_name, second.line) == ('O"NEIL', 3)


def test_quote_inside_an_unquoted_field_is_data() -> None:
    (row,) = items(b'V1\tO"NEIL\tANN\tCARY')
    assert isinstance(row, VoterRow)
    assert row.last_name == 'O"NEIL'


# --- ragged rows --------------------------------------------------------------------------------


def test_row_with_too_few_fields_is_a_row_error() -> None:
    assert items(b"V1\tSMITH\tANN") == [RowError(2, "", "too few fields: 3, expected 4", "V1\tSMITH\tANN")]


def test_row_with_too_many_fields_is_a_row_error() -> None:
    (error,) = items(GOOD + b"\tEXTRA")
    assert isinstance(error, RowError)
    assert error.reason == "too many fields: 5, expected 4"


def test_trailing_empty_fields_are_tolerated() -> None:
    assert kinds(GOOD + b"\t\t") == ["VoterRow"]


# --- blank lines and garbage --------------------------------------------------------------------


def test_blank_lines_are_skipped_but_still_counted_as_lines() -> None:
    result = items(b"", GOOD, b"   ", b"\t", GOOD)
    assert [item.line for item in result] == [3, 6]


def test_merge_conflict_markers_are_row_errors_and_the_rows_between_survive() -> None:
    result = items(GOOD, b"<<<<<<< HEAD", GOOD, b"=======", GOOD, b">>>>>>> upstream/main", GOOD)
    assert [type(item).__name__ for item in result] == ["VoterRow", "RowError"] * 3 + ["VoterRow"]
    assert {item.reason for item in result if isinstance(item, RowError)} == {"merge-conflict marker"}


def test_html_lines_are_row_errors() -> None:
    result = items(GOOD, b"<html>", b"  <body>Bad Gateway</body>", GOOD)
    assert [getattr(item, "reason", "ok") for item in result] == ["ok", "HTML markup", "HTML markup", "ok"]


def test_missing_voter_id_is_a_row_error_naming_the_field() -> None:
    assert items(b"\tSMITH\tANN\tCARY") == [
        RowError(2, "source_voter_id", "missing id", "\tSMITH\tANN\tCARY")
    ]


def test_missing_last_name_is_a_row_error_naming_the_field() -> None:
    (error,) = items(b"V1\t \tANN\tCARY")
    assert isinstance(error, RowError)
    assert (error.field, error.reason) == ("last_name", "missing last")


def test_oversized_line_is_a_row_error_and_is_never_held_in_memory() -> None:
    huge = b"V9\t" + b"X" * (16 * MAX_LINE_BYTES)
    data = io.BytesIO(b"\r\n".join([HEADER, GOOD, huge, GOOD]) + b"\r\n")
    tracemalloc.start()
    try:
        result = [item for item, _ in open_reader("csv_mapped", data, mapping=MAPPING)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [type(item).__name__ for item in result] == ["VoterRow", "RowError", "VoterRow"]
    assert isinstance(result[1], RowError)
    assert (result[1].line, result[1].raw) == (3, "V9\t" + "X" * 197)
    assert result[1].reason == "line longer than 1 MiB without a newline"
    assert peak < 8 * MAX_LINE_BYTES  # bounded by the chunk size, not by the 16 MiB line


def test_row_error_raw_is_the_first_200_characters() -> None:
    (error,) = items(b"V1\tSMITH\tANN\t" + b"C" * 500 + b"\tEXTRA")
    assert isinstance(error, RowError)
    assert error.raw == "V1\tSMITH\tANN\t" + "C" * 187


# --- accounting ---------------------------------------------------------------------------------


def test_every_non_blank_line_comes_out_exactly_once() -> None:
    lines = [
        GOOD,
        b"",
        b'V2\tSMITH\t"ANN\r\n\r\nMARIE"\tCARY',  # one record over three lines
        b"<<<<<<< HEAD",
        b"V3\tSM\x81TH\tANN\tCARY",
        b"V4\tSHORT",
        b"\tNOID\tANN\tCARY",
        b"   ",
        b'V5\t"UNCLOSED\tANN\tCARY',
        GOOD,
    ]
    data = b"\r\n".join([HEADER, *lines])  # and no final newline
    physical = data.split(b"\r\n")
    expected = {n for n, line in enumerate(physical, 1) if line.strip() and n > 1}
    covered: list[int] = []
    for item, end in open_reader("csv_mapped", io.BytesIO(data), mapping=MAPPING):
        covered += range(item.line, end.line)
    assert len(covered) == len(set(covered))
    assert set(covered) - expected == {5}  # the blank line inside the quoted field belongs to it
    assert expected <= set(covered)


def test_crlf_and_lf_files_read_the_same() -> None:
    lines = vf.ncsbe_lines(vf.sample_voters(4))
    crlf = [row for row, _ in open_reader("ncsbe", io.BytesIO(vf.encode(lines, newline="\r\n")))]
    lf = [row for row, _ in open_reader("ncsbe", io.BytesIO(vf.encode(lines, newline="\n")))]
    assert crlf == lf


def test_last_line_without_a_newline_is_read() -> None:
    data = HEADER + b"\n" + GOOD + b"\n" + GOOD
    result = list(open_reader("csv_mapped", io.BytesIO(data), mapping=MAPPING))
    assert [item.line for item, _ in result] == [2, 3]
    assert result[-1][1] == Position(len(data), 4)
