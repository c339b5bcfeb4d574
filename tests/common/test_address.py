"""Behaviour of the Pub 28 address normalizer (cocoa_common.address)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import usaddress

from cocoa_common import address
from cocoa_common.address import (
    REJECT_REASONS,
    SUFFIXES,
    AddressRejected,
    NormalizedAddress,
    from_parts,
    normalize_state,
    normalize_zip,
    parse_street_line,
)

PLACE = ("Raleigh", "NC", "27601")


def parse(line: str) -> NormalizedAddress:
    return parse_street_line(line, *PLACE)


def household(line: str) -> str:
    return parse(line).household_key()


def rejection(line: str) -> str:
    with pytest.raises(AddressRejected) as info:
        parse(line)
    return info.value.reason


@pytest.fixture
def usaddress_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every line handed to usaddress (the slow fallback)."""
    calls: list[str] = []
    real: Callable[[str], Any] = usaddress.parse

    def spy(text: str) -> Any:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(address.usaddress, "parse", spy)
    return calls


# --- output shape -------------------------------------------------------------------------------


def test_common_line_is_split_into_pub28_components() -> None:
    got = parse("1234 north Main Street, Apt. 2")
    assert got == NormalizedAddress("1234", "N", "MAIN", "ST", "", "APT", "2", "RALEIGH", "NC", "27601")


def test_street_line_and_one_line_render_pub28_text() -> None:
    got = parse("1234 N Main St Apt 2")
    assert got.street_line() == "1234 N MAIN ST APT 2"
    assert got.one_line() == "1234 N MAIN ST APT 2, RALEIGH, NC 27601"


def test_one_line_skips_missing_place_fields() -> None:
    assert parse_street_line("5 Oak Dr").one_line() == "5 OAK DR"


def test_city_is_uppercased_with_whitespace_collapsed() -> None:
    assert parse_street_line("5 Oak Dr", city="  chapel   hill ").city == "CHAPEL HILL"


def test_punctuation_and_case_do_not_change_the_household_key() -> None:
    assert household("1234 n. main st., apt #2") == household("1234 N MAIN ST APT 2")


def test_diacritics_fold_to_ascii() -> None:
    assert parse("100 Peña Blvd").street_name == "PENA"


# --- units and keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "12 Main St # 2",
        "12 Main St #2",
        "12 Main St Unit 2",
        "12 Main St Apt #2",
        "12 Main St Apt. 2",
        "12 Main St Apartment 2",
        "12 Main St Apt No 2",
        "12 Main St 2",
    ],
)
def test_apt_hash_and_unit_designators_form_the_same_household_key(line: str) -> None:
    assert household(line) == household("12 MAIN ST APT 2")


def test_unit_designator_is_kept_for_display() -> None:
    assert parse("12 Main St Suite 300").street_line() == "12 MAIN ST STE 300"


def test_different_units_form_different_household_keys() -> None:
    keys = {household(f"12 MAIN ST APT {unit}") for unit in ("1A", "1B", "2A")}
    assert len(keys) == 3


def test_unit_case_and_spacing_variants_collapse() -> None:
    assert household("12 Main St apt 1a") == household("12  MAIN ST  APT 1A")


def test_leading_zeros_in_numeric_units_do_not_split_households() -> None:
    assert household("12 MAIN ST APT 087") == household("12 MAIN ST APT 87")


def test_hyphen_inside_unit_id_does_not_split_households() -> None:
    assert household("12 MAIN ST APT 2-B") == household("12 MAIN ST APT 2B")


def test_location_key_ignores_the_unit() -> None:
    assert parse("12 MAIN ST APT 2").location_key() == parse("12 MAIN ST").location_key()


def test_household_key_separates_unit_from_no_unit() -> None:
    assert household("12 MAIN ST APT 2") != household("12 MAIN ST")


def test_keys_include_city_state_and_zip() -> None:
    here = parse_street_line("12 MAIN ST", "RALEIGH", "NC", "27601")
    there = parse_street_line("12 MAIN ST", "RALEIGH", "NC", "27610")
    assert here.location_key() != there.location_key()
    assert here.household_key() != there.household_key()


def test_trailing_id_after_suffix_is_a_unit() -> None:
    got = parse("2345A S Monroe St 67B")
    assert (got.house_number, got.street_name, got.suffix, got.unit) == ("2345A", "MONROE", "ST", "67B")


def test_single_letter_after_suffix_is_a_unit() -> None:
    assert parse("12 MAIN ST A").unit == "A"


def test_standalone_designator_after_street_is_a_unit() -> None:
    rear = parse("12 MAIN ST REAR")
    assert (rear.suffix, rear.unit_type) == ("ST", "REAR")
    assert rear.household_key() != household("12 MAIN ST FRONT")


def test_designator_words_at_start_of_street_name_are_not_units() -> None:
    assert parse("100 W Front St").street_line() == "100 W FRONT ST"
    assert parse("100 West Side").unit_type == ""


def test_building_and_apartment_are_both_kept() -> None:
    got = parse("100 MAIN ST BLDG 3 APT 12")
    assert got.street_line() == "100 MAIN ST BLDG 3 APT 12"
    assert got.household_key() != household("100 MAIN ST BLDG 31 APT 2")


def test_ordinal_floor_becomes_floor_unit() -> None:
    got = parse("123 Main St 2nd Floor")
    assert (got.unit_type, got.unit) == ("FL", "2")


# --- directions ----------------------------------------------------------------------------------


def test_directions_are_kept_distinct() -> None:
    assert household("1234 N MAIN ST") != household("1234 S MAIN ST")


def test_grid_address_corners_stay_distinct() -> None:
    corners = [f"842 {a} 1700 {b}" for a in "EW" for b in "NS"]
    assert len({household(line) for line in corners}) == 4
    got = parse("842 E 1700 S")
    assert (got.predir, got.street_name, got.postdir) == ("E", "1700", "S")


@pytest.mark.parametrize(
    ("spelled", "abbreviated"),
    [("North", "N"), ("Northeast", "NE"), ("SOUTHWEST", "SW"), ("west", "W")],
)
def test_spelled_directions_are_abbreviated(spelled: str, abbreviated: str) -> None:
    assert parse(f"10 {spelled} Main St").predir == abbreviated


def test_post_direction_is_kept_separately() -> None:
    got = parse("10 Main St NW")
    assert (got.suffix, got.postdir) == ("ST", "NW")


def test_letter_streets_are_not_taken_as_directions() -> None:
    n_st = parse("100 N ST")
    assert (n_st.predir, n_st.street_name, n_st.suffix) == ("", "N", "ST")
    dc = parse("123 E St NW")
    assert (dc.predir, dc.street_name, dc.suffix, dc.postdir) == ("", "E", "ST", "NW")


def test_street_named_north_keeps_its_name() -> None:
    got = parse("100 North St")
    assert (got.predir, got.street_name) == ("", "NORTH")


# --- street names --------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["200 Avenue A", "200 AVENUE N"])
def test_avenue_letter_is_a_street_name(line: str) -> None:
    got = parse(line)
    assert (got.street_name, got.suffix, got.postdir) == (line.upper().removeprefix("200 "), "", "")


def test_avenue_of_the_americas_keeps_its_pretype() -> None:
    assert parse("1211 Avenue of the Americas").street_name == "AVENUE OF THE AMERICAS"


def test_saint_at_start_of_name_is_not_a_suffix() -> None:
    got = parse("5 St. James Pl")
    assert (got.street_name, got.suffix) == ("ST JAMES", "PL")


def test_martin_luther_king_jr_blvd_keeps_jr_in_the_name() -> None:
    got = parse("77 Martin Luther King Jr. Boulevard")
    assert (got.street_name, got.suffix) == ("MARTIN LUTHER KING JR", "BLVD")


def test_route_numbers_stay_in_the_street_name() -> None:
    old = parse("10 Old Highway 61 N")
    assert (old.street_name, old.postdir, old.unit) == ("OLD HIGHWAY 61", "N", "")
    assert parse("10 County Road 12").street_name == "COUNTY ROAD 12"


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("10 HWY 54", "10 HIGHWAY 54"),
        ("10 CO RD 12", "10 COUNTY ROAD 12"),
        ("10 CR 12", "10 COUNTY ROAD 12"),
        ("10 US HWY 1", "10 US HIGHWAY 1"),
        ("10 I-95", "10 INTERSTATE 95"),
    ],
)
def test_route_abbreviations_key_like_spelled_out_routes(variant: str, canonical: str) -> None:
    assert household(variant) == household(canonical)


def test_hyphenated_street_name_loses_its_hyphen() -> None:
    assert parse("4430 E Greensboro-Chapel Hill Rd").street_name == "GREENSBORO CHAPEL HILL"


@pytest.mark.parametrize(
    ("written", "standard"),
    [
        ("Street", "ST"),
        ("Str", "ST"),
        ("Av", "AVE"),
        ("Aven", "AVE"),
        ("Boulevard", "BLVD"),
        ("Drive", "DR"),
        ("Lane", "LN"),
        ("Court", "CT"),
        ("Circle", "CIR"),
        ("Terrace", "TER"),
        ("Wy", "WAY"),
        ("Parkway", "PKWY"),
        ("Trail", "TRL"),
        ("Crossing", "XING"),
        ("Heights", "HTS"),
    ],
)
def test_suffix_variants_map_to_pub28_abbreviations(written: str, standard: str) -> None:
    assert parse(f"10 Oak {written}").suffix == standard


def test_suffix_table_covers_pub28_appendix_c1() -> None:
    assert len(set(SUFFIXES.values())) >= 200


# --- house numbers -------------------------------------------------------------------------------


def test_fractional_house_number_is_kept() -> None:
    got = parse("123 1/2 Main St")
    assert (got.house_number, got.street_name) == ("123 1/2", "MAIN")


def test_unicode_half_becomes_a_fraction() -> None:
    assert parse("123½ Main St").house_number == "123 1/2"


def test_queens_hyphenated_house_number_is_kept() -> None:
    got = parse("123-45 67th Ave")
    assert (got.house_number, got.street_name, got.suffix) == ("123-45", "67TH", "AVE")


# --- rejections ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", ["PO Box 123", "P.O. Box 123", "P O BOX 123", "POB 12", "POBOX 12", "Post Office Box 9", "Box 12"]
)
def test_po_box_is_rejected_with_reason(line: str) -> None:
    assert rejection(line) == "po_box"


@pytest.mark.parametrize("line", ["REMOVED", "Confidential", "ADDRESS CONFIDENTIAL", "*** CONFIDENTIAL ***"])
def test_removed_and_confidential_are_rejected_with_reason(line: str) -> None:
    assert rejection(line) == "removed"


@pytest.mark.parametrize("line", ["", "   ", " ,. "])
def test_empty_line_is_rejected_with_reason(line: str) -> None:
    assert rejection(line) == "empty"


@pytest.mark.parametrize("line", ["Main St", "York Ave Apt 2", "Box Elder Rd"])
def test_missing_house_number_is_rejected_with_reason(line: str) -> None:
    assert rejection(line) == "no_house_number"


def test_intersection_is_rejected_as_unparseable() -> None:
    assert rejection("946 & 968 Main St") == "unparseable"


def test_repeated_address_is_rejected_as_unparseable() -> None:
    assert rejection("123 Main St 123 Main St") == "unparseable"


def test_rejection_carries_reason_and_message() -> None:
    with pytest.raises(AddressRejected) as info:
        parse("PO Box 5")
    assert info.value.reason in REJECT_REASONS
    assert info.value.message
    assert str(info.value).startswith("po_box: ")


def test_rural_route_box_is_accepted_without_house_number() -> None:
    got = parse("R.R. 2 Box 40")
    assert (got.house_number, got.street_name) == ("", "RR 2 BOX 40")
    assert parse("Star Route 1 Box 5").street_name == "HC 1 BOX 5"


# --- fast path vs usaddress fallback -------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "1234 N Main St Apt 2",
        "842 E 1700 S",
        "5 St James Pl",
        "10 Old Highway 61 N",
        "12 Main St 2B",
        "100 N St",
    ],
)
def test_common_forms_do_not_call_usaddress(line: str, usaddress_calls: list[str]) -> None:
    parse(line)
    assert usaddress_calls == []


def test_ambiguous_trailing_number_falls_back_to_usaddress(usaddress_calls: list[str]) -> None:
    got = parse("123 Broadway 4")
    assert usaddress_calls == ["123 BROADWAY 4"]
    assert (got.street_name, got.unit) == ("BROADWAY", "4")


def test_number_after_unqualified_road_is_a_unit_on_the_fast_path(usaddress_calls: list[str]) -> None:
    assert parse("123 Main Rd 4").unit == "4"
    assert parse("123 County Rd 4").street_name == "COUNTY ROAD 4"
    assert usaddress_calls == []


def test_fallback_reads_place_fields_from_a_full_line(usaddress_calls: list[str]) -> None:
    got = parse_street_line("123 Main St Raleigh NC 27601-1234")
    assert usaddress_calls
    assert (got.street_line(), got.city, got.state, got.zip5) == ("123 MAIN ST", "RALEIGH", "NC", "27601")


def test_fallback_finds_a_unit_written_before_the_number(usaddress_calls: list[str]) -> None:
    assert household("Apt 2 123 Main St") == household("123 MAIN ST APT 2")
    assert usaddress_calls


@pytest.mark.parametrize(
    "line",
    [
        "1234 N MAIN ST APT 2",
        "842 E 1700 S",
        "5 ST JAMES PL",
        "123 E ST NW",
        "200 AVENUE A",
        "10 OLD HIGHWAY 61 N",
        "123 1/2 MAIN ST",
        "123-45 67TH AVE",
        "12 MAIN ST # 2B",
        "100 MAIN ST BLDG 3 APT 12",
        "12 I-95",
    ],
)
def test_fast_path_and_usaddress_fallback_agree(line: str) -> None:
    place = ("RALEIGH", "NC", "27601")
    assert parse(line) == address._parse_with_usaddress(line, place)


# --- pre-split sources ---------------------------------------------------------------------------


def test_from_parts_normalizes_spelling() -> None:
    got = from_parts("1234", "North", "Main", "Street", "", "Apt", "2", "raleigh", "nc", "27601-1234")
    assert got == NormalizedAddress("1234", "N", "MAIN", "ST", "", "APT", "2", "RALEIGH", "NC", "27601")


def test_from_parts_keys_like_the_parsed_line() -> None:
    parts = from_parts("1234", "N", "Main", "St", "", "Unit", "2", *PLACE)
    assert parts.household_key() == household("1234 N Main St # 2")


def test_from_parts_splits_a_street_name_column_holding_type_and_direction() -> None:
    got = from_parts("1234", "", "N Main St", "", "", "", "#2", *PLACE)
    assert got.household_key() == household("1234 N MAIN ST APT 2")


def test_from_parts_appends_the_fraction_column() -> None:
    assert from_parts("207", "", "Main", "St", "", "", "", *PLACE, fraction="1/2").house_number == "207 1/2"


def test_from_parts_without_house_number_is_rejected() -> None:
    with pytest.raises(AddressRejected) as info:
        from_parts("", "", "Main", "St", "", "", "", *PLACE)
    assert info.value.reason == "no_house_number"


# --- ZIP and state -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["27601", "27601-1234", "276011234", " 27601 ", "27601.0", '="27601"'])
def test_zip_variants_reduce_to_zip5(value: str) -> None:
    assert normalize_zip(value) == "27601"


@pytest.mark.parametrize(("value", "expected"), [("2110", "02110"), ("501", "00501"), ("21101234", "02110")])
def test_zip_with_lost_leading_zeros_is_padded(value: str, expected: str) -> None:
    assert normalize_zip(value) == expected


@pytest.mark.parametrize("value", ["", "12", "123456", "00000", "ABCDE"])
def test_invalid_zip_becomes_empty(value: str) -> None:
    assert normalize_zip(value) == ""


@pytest.mark.parametrize(("value", "expected"), [("nc", "NC"), ("North Carolina", "NC"), ("Narnia", "")])
def test_state_names_become_two_letter_codes(value: str, expected: str) -> None:
    assert normalize_state(value) == expected
