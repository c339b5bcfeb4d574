"""Householding of voter rows: each distinct raw address parsed once, units and flags."""

from __future__ import annotations

from cocoa_importer.formats import VoterRow
from cocoa_importer.grouping import AddressBook


def row(line: str, zip_code: str = "27701") -> VoterRow:
    return VoterRow(line=1, street_line=line, city="DURHAM", state="NC", zip_code=zip_code)


def test_a_repeated_raw_address_is_parsed_once_and_only_its_first_sighting_stages_a_household() -> None:
    book = AddressBook()
    first, second = book.residence(row("12 Main St Apt 2")), book.residence(row("12 Main St Apt 2"))
    assert book.parsed == 1
    assert first.new_household is not None
    assert second.new_household is None
    assert first.household_key == second.household_key


def test_unit_spellings_share_a_household_key() -> None:
    book = AddressBook()
    keys = {
        book.residence(row(line)).household_key
        for line in ("12 MAIN ST APT 2", "12 Main Street # 2", "12 MAIN ST UNIT 2")
    }
    assert len(keys) == 1


def test_a_po_box_is_flagged_with_its_reason_and_has_no_household() -> None:
    residence = AddressBook().residence(row("PO Box 55"))
    assert residence.flag is not None
    assert residence.flag.reason == "po_box"
    assert residence.household_key == ""


def test_the_memo_forgets_the_oldest_generation_so_memory_stays_bounded() -> None:
    book = AddressBook(generation=2)
    for n in range(1, 6):
        book.residence(row(f"{n} Elm St"))
    book.residence(row("5 Elm St"))  # still remembered
    assert book.parsed == 5
    book.residence(row("1 Elm St"))  # forgotten two generations ago: parsed again, same key
    assert book.parsed == 6
