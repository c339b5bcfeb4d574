"""Writers of small sample voter files in each supported layout, for the format-reader tests.

Every file is generated from ``Voter`` records here; nothing is copied from a real voter file.
Column lists follow the published layouts independently of the product code, so a wrong name in a
reader shows up as a failing test rather than a shared mistake.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cocoa_importer.formats.ncsbe import CURRENT_COLUMNS

NC_CURRENT = list(CURRENT_COLUMNS)

NC_PRE_2022 = (
    "county_id county_desc voter_reg_num status_cd voter_status_desc reason_cd voter_status_reason_desc "
    "absent_ind name_prefx_cd last_name first_name middle_name name_suffix_lbl res_street_address "
    "res_city_desc state_cd zip_code mail_addr1 mail_addr2 mail_addr3 mail_addr4 mail_city mail_state "
    "mail_zipcode full_phone_number race_code ethnic_code party_cd gender_code birth_age birth_state "
    "drivers_lic registr_dt precinct_abbrv precinct_desc municipality_abbrv municipality_desc ward_abbrv "
    "ward_desc cong_dist_abbrv "
    "super_court_abbrv judic_dist_abbrv nc_senate_abbrv nc_house_abbrv county_commiss_abbrv "
    "county_commiss_desc township_abbrv township_desc school_dist_abbrv school_dist_desc fire_dist_abbrv "
    "fire_dist_desc water_dist_abbrv water_dist_desc sewer_dist_abbrv sewer_dist_desc sanit_dist_abbrv "
    "sanit_dist_desc rescue_dist_abbrv rescue_dist_desc munic_dist_abbrv munic_dist_desc dist_1_abbrv "
    "dist_1_desc dist_2_abbrv dist_2_desc confidential_ind birth_year ncid vtd_abbrv vtd_desc"
).split()

OHIO_FIXED = (
    "SOS_VOTERID COUNTY_NUMBER COUNTY_ID LAST_NAME FIRST_NAME MIDDLE_NAME SUFFIX DATE_OF_BIRTH "
    "REGISTRATION_DATE VOTER_STATUS PARTY_AFFILIATION RESIDENTIAL_ADDRESS1 RESIDENTIAL_SECONDARY_ADDR "
    "RESIDENTIAL_CITY RESIDENTIAL_STATE RESIDENTIAL_ZIP RESIDENTIAL_ZIP_PLUS4 RESIDENTIAL_COUNTRY "
    "RESIDENTIAL_POSTALCODE MAILING_ADDRESS1 MAILING_SECONDARY_ADDRESS MAILING_CITY MAILING_STATE MAILING_ZIP "
    "MAILING_ZIP_PLUS4 MAILING_COUNTRY MAILING_POSTAL_CODE CAREER_CENTER CITY CITY_SCHOOL_DISTRICT "
    "COUNTY_COURT_DISTRICT CONGRESSIONAL_DISTRICT COURT_OF_APPEALS EDU_SERVICE_CENTER_DISTRICT "
    "EXEMPTED_VILL_SCHOOL_DISTRICT LIBRARY LOCAL_SCHOOL_DISTRICT MUNICIPAL_COURT_DISTRICT PRECINCT_NAME "
    "PRECINCT_CODE STATE_BOARD_OF_EDUCATION STATE_REPRESENTATIVE_DISTRICT STATE_SENATE_DISTRICT TOWNSHIP "
    "VILLAGE WARD"
).split()
OHIO_ELECTIONS = ("PRIMARY-03/07/2000", "GENERAL-11/07/2000", "SPECIAL-05/02/2017", "GENERAL-11/08/2022")

WASHINGTON = (
    "StateVoterID CountyVoterID Title FName MName LName NameSuffix Birthdate Gender RegStNum RegStFrac "
    "RegStName RegStType RegUnitType RegStPreDirection RegStPostDirection RegUnitNum RegCity RegState "
    "RegZipCode CountyCode PrecinctCode PrecinctPart LegislativeDistrict CongressionalDistrict Mail1 Mail2 "
    "Mail3 Mail4 MailCity MailZip MailState MailCountry Registrationdate AbsenteeType LastVoted StatusCode"
).split()

CONTRA_COSTA_VOTER = (
    "RegistrationNumber VoterID VoterTitle FirstName MiddleName LastName NameSuffix Gender BirthDate "
    "BirthPlace Language HouseNumber PreDirection StreetName StreetSuffix PostDirection UnitAbbr UnitNumber "
    "ResidenceCity ResidenceZipCode MailAddress1 MailAddress2 MailAddress3 MailAddress4 MailCity MailState "
    "MailZip PhoneNumber EmailAddress RegistrationDate PartyName PartyAbbr VBMProgramStatus StatusReason "
    "PrecinctID PrecinctPortion PrecinctName"
).split()
CONTRA_COSTA_SLOT = (
    "ElectionAbbr ElectionDesc ElectionDate ElectionType BallotPartyName BallotPartyAbbr BallotCounted "
    "VotingMethodDesc DistrictID SubDistrict DistrictName"
).split()
CONTRA_COSTA = CONTRA_COSTA_VOTER + [f"{name}_{n}" for n in range(1, 6) for name in CONTRA_COSTA_SLOT]

FLORIDA_WIDTH = 38


@dataclass(frozen=True)
class Voter:
    """One made-up voter, with the residence both as one line and in parts."""

    voter_id: str
    first: str
    middle: str
    last: str
    suffix: str
    house_number: str
    predir: str
    street_name: str
    street_type: str
    unit_type: str
    unit: str
    city: str
    state: str
    zip_code: str
    birth_date: str  # MM/DD/YYYY
    gender: str
    party: str
    phone: str
    email: str
    mail_line: str

    @property
    def street_line(self) -> str:
        parts = (self.house_number, self.predir, self.street_name, self.street_type)
        line = " ".join(p for p in parts if p)
        return f"{line} {self.unit_type} {self.unit}" if self.unit else line

    @property
    def birth_year(self) -> int:
        return int(self.birth_date[-4:])

    @property
    def iso_birth_date(self) -> str:
        month, day, year = self.birth_date.split("/")
        return f"{year}-{month}-{day}"


_FIRST = ("MARÍA", "JOSÉ", "RUTH", "JAMES", "ZOË", "LINDA", "FRANÇOIS", "KEISHA", "WEI", "ANNA")
_LAST = ("O’BRIEN", "MÜLLER", "PEÑA", "SMITH", "NGUYEN", "JOHNSON", "GARCÍA", "BROWN", "DUBOIS", "LEE")
_STREETS = (("", "MAIN", "ST"), ("N", "DUKE", "ST"), ("E", "CLAY", "AVE"), ("", "COVINGTON", "TRL"))
_CITIES = (("DURHAM", "27701"), ("MEBANE", "27302"), ("GRAHAM", "27253"))


def sample_voters(count: int, seed: int = 0) -> list[Voter]:
    """``count`` deterministic voters; names include Windows-1252 letters, a third live in apartments."""
    rng = random.Random(seed)
    voters = []
    for i in range(count):
        predir, street, street_type = rng.choice(_STREETS)
        city, zip_code = rng.choice(_CITIES)
        apartment = i % 3 == 0
        voters.append(
            Voter(
                voter_id=f"{100000 + i}",
                first=rng.choice(_FIRST),
                middle=rng.choice(("", "LEE", "ANN")),
                last=rng.choice(_LAST),
                suffix="JR" if i % 7 == 0 else "",
                house_number=str(rng.randint(1, 9999)),
                predir=predir,
                street_name=street,
                street_type=street_type,
                unit_type="APT" if apartment else "",
                unit=str(rng.randint(1, 40)) if apartment else "",
                city=city,
                state="NC",
                zip_code=zip_code,
                birth_date=f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1930, 2005)}",
                gender=rng.choice("MFU"),
                party=rng.choice(("DEM", "REP", "UNA")),
                phone=f"919555{rng.randint(0, 9999):04d}",
                email=f"voter{i}@example.org",
                mail_line=f"PO BOX {i + 1}" if i % 5 == 0 else "",
            )
        )
    return voters


def with_changes(voter: Voter, **changes: str) -> Voter:
    return replace(voter, **changes)


# --- layouts ------------------------------------------------------------------------------------


def ncsbe_values(voter: Voter, columns: Sequence[str] = NC_CURRENT) -> list[str]:
    known = {
        "county_id": "32",
        "county_desc": "DURHAM",
        "voter_reg_num": f"{int(voter.voter_id):012d}",
        "ncid": f"AA{voter.voter_id}",
        "last_name": voter.last,
        "first_name": voter.first,
        "middle_name": voter.middle,
        "midl_name": voter.middle,
        "name_suffix_lbl": voter.suffix,
        "name_sufx_cd": voter.suffix,
        "status_cd": "A",
        "voter_status_desc": "ACTIVE",
        "res_street_address": voter.street_line,
        "res_city_desc": voter.city,
        "state_cd": voter.state,
        "zip_code": voter.zip_code,
        "mail_addr1": voter.mail_line,
        "mail_city": voter.city if voter.mail_line else "",
        "mail_state": voter.state if voter.mail_line else "",
        "mail_zipcode": voter.zip_code if voter.mail_line else "",
        "full_phone_number": voter.phone,
        "confidential_ind": "N",
        "registr_dt": "10/01/1984",
        "party_cd": voter.party,
        "gender_code": voter.gender,
        "birth_year": str(voter.birth_year),
        "precinct_abbrv": "08N",
    }
    return [known.get(name, "") for name in columns]


def ncsbe_lines(
    voters: Iterable[Voter], columns: Sequence[str] = NC_CURRENT, *, quoted: bool = True
) -> list[str]:
    """Header and rows of an ncvoter file; real ones double-quote every field."""
    rows = [list(columns), *(ncsbe_values(v, columns) for v in voters)]
    return [join_fields(row, "\t", quoted=quoted) for row in rows]


def florida_values(voter: Voter) -> list[str]:
    values = [""] * FLORIDA_WIDTH
    values[0:6] = ["DAD", voter.voter_id, voter.last, voter.suffix, voter.first, voter.middle]
    values[6] = "N"
    street = " ".join(
        p for p in (voter.house_number, voter.predir, voter.street_name, voter.street_type) if p
    )
    values[7:12] = [street, f"APT {voter.unit}" if voter.unit else "", voter.city, "FL", voter.zip_code]
    values[12] = voter.mail_line
    values[19:24] = [voter.gender, "5", voter.birth_date, "01/15/2004", voter.party]
    values[24] = "101"
    values[28] = "ACT"
    values[34:38] = [voter.phone[:3], voter.phone[3:], "", voter.email]
    return values


def florida_lines(voters: Iterable[Voter]) -> list[str]:
    """Rows of a Florida extract; the format has no header row."""
    return [join_fields(florida_values(v), "\t") for v in voters]


def ohio_values(voter: Voter, elections: Sequence[str] = OHIO_ELECTIONS) -> list[str]:
    known = {
        "SOS_VOTERID": f"OH{int(voter.voter_id):010d}",
        "COUNTY_NUMBER": "25",
        "COUNTY_ID": voter.voter_id,
        "LAST_NAME": voter.last,
        "FIRST_NAME": voter.first,
        "MIDDLE_NAME": voter.middle,
        "SUFFIX": voter.suffix,
        "DATE_OF_BIRTH": voter.iso_birth_date,
        "REGISTRATION_DATE": "2004-01-15",
        "VOTER_STATUS": "ACTIVE",
        "PARTY_AFFILIATION": voter.party[:1] if voter.party != "UNA" else "",
        "RESIDENTIAL_ADDRESS1": " ".join(
            p for p in (voter.house_number, voter.predir, voter.street_name, voter.street_type) if p
        ),
        "RESIDENTIAL_SECONDARY_ADDR": f"APT {voter.unit}" if voter.unit else "",
        "RESIDENTIAL_CITY": voter.city,
        "RESIDENTIAL_STATE": "OH",
        "RESIDENTIAL_ZIP": voter.zip_code,
        "RESIDENTIAL_ZIP_PLUS4": "1234",
        "MAILING_ADDRESS1": voter.mail_line,
        "PRECINCT_CODE": "25-AAB",
        "PRECINCT_NAME": "COLUMBUS 1-B",
    }
    marks = ["X" if (int(voter.voter_id) + i) % 2 else "" for i in range(len(elections))]
    return [known.get(name, "") for name in OHIO_FIXED] + marks


def ohio_lines(
    voters: Iterable[Voter], delimiter: str = ",", elections: Sequence[str] = OHIO_ELECTIONS
) -> list[str]:
    """An SWVF file; the comma form quotes every field, the pipe form quotes none."""
    quoted = delimiter == ","
    header = [*OHIO_FIXED, *elections]
    rows = [header, *(ohio_values(v, elections) for v in voters)]
    return [join_fields(row, delimiter, quoted=quoted) for row in rows]


def washington_values(voter: Voter) -> list[str]:
    known = {
        "StateVoterID": f"WA{int(voter.voter_id):09d}",
        "CountyVoterID": voter.voter_id,
        "FName": voter.first,
        "MName": voter.middle,
        "LName": voter.last,
        "NameSuffix": voter.suffix,
        "Birthdate": voter.birth_date,
        "Gender": voter.gender,
        "RegStNum": voter.house_number,
        "RegStFrac": "1/2" if int(voter.voter_id) % 11 == 0 else "",
        "RegStName": voter.street_name,
        "RegStType": voter.street_type,
        "RegUnitType": voter.unit_type,
        "RegStPreDirection": voter.predir,
        "RegUnitNum": voter.unit,
        "RegCity": voter.city,
        "RegState": "WA",
        "RegZipCode": voter.zip_code,
        "CountyCode": "KI",
        "PrecinctCode": "1234",
        "Mail1": voter.mail_line,
        "Registrationdate": "01/15/2004",
        "LastVoted": "11/08/2022",
        "StatusCode": "A",
    }
    return [known.get(name, "") for name in WASHINGTON]


def washington_lines(voters: Iterable[Voter], delimiter: str = "\t") -> list[str]:
    rows = [WASHINGTON, *(washington_values(v) for v in voters)]
    return [join_fields(row, delimiter) for row in rows]


def contra_costa_values(voter: Voter, slots: int = 5) -> list[str]:
    known = {
        "RegistrationNumber": f"R{voter.voter_id}",
        "VoterID": voter.voter_id,
        "FirstName": voter.first,
        "MiddleName": voter.middle,
        "LastName": voter.last,
        "NameSuffix": voter.suffix,
        "Gender": voter.gender,
        "BirthDate": voter.birth_date,
        "HouseNumber": voter.house_number,
        "PreDirection": voter.predir,
        "StreetName": voter.street_name,
        "StreetSuffix": voter.street_type,
        "UnitAbbr": voter.unit_type,
        "UnitNumber": voter.unit,
        "ResidenceCity": voter.city,
        "ResidenceZipCode": voter.zip_code,
        "MailAddress1": voter.mail_line,
        "PhoneNumber": voter.phone,
        "EmailAddress": voter.email,
        "RegistrationDate": "01/15/2004",
        "PartyAbbr": voter.party,
        "PrecinctID": "211100",
        "ElectionDate_1": "11/08/2022",
        "BallotCounted_1": "Y",
        "ElectionDate_2": "06/07/2022",
        "BallotCounted_2": "N",
        "ElectionDate_3": "11/03/2020",
        "BallotCounted_3": "Y",
    }
    return [known.get(name, "") for name in CONTRA_COSTA[: len(CONTRA_COSTA_VOTER) + 11 * slots]]


def contra_costa_lines(voters: Iterable[Voter]) -> list[str]:
    rows = [CONTRA_COSTA, *(contra_costa_values(v) for v in voters)]
    return [join_fields(row, "\t") for row in rows]


def simple_csv_lines(voters: Iterable[Voter], header: Sequence[str] = ("FirstName", "LastName")) -> list[str]:
    """A contact list with the given name-column spellings plus email, phone and address."""
    rows = [[*header, "email", "phone", "address", "city", "state", "zip"]]
    rows += [[v.first, v.last, v.email, v.phone, v.street_line, v.city, v.state, v.zip_code] for v in voters]
    return [join_fields(row, ",", quoted=False) for row in rows]


# --- encoding -----------------------------------------------------------------------------------


def join_fields(values: Sequence[str], delimiter: str, *, quoted: bool = False) -> str:
    """One record; quoted fields double any embedded quote, unquoted ones get quoted only if needed."""
    if quoted:
        return delimiter.join('"' + v.replace('"', '""') + '"' for v in values)
    return delimiter.join(
        '"' + v.replace('"', '""') + '"' if delimiter in v or "\n" in v or v.startswith('"') else v
        for v in values
    )


def encode(
    lines: Iterable[str], *, encoding: str = "cp1252", newline: str = "\r\n", bom: bool = False
) -> bytes:
    """The file's bytes: lines joined with ``newline`` (and a final one), optionally with a UTF-8 BOM."""
    data = "".join(line + newline for line in lines).encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- damage ---------------------------------------------------------------------------------------

GARBAGE_LINES = (
    b"<<<<<<< HEAD",
    b"=======",
    b">>>>>>> main",
    b"<html><body>Service Unavailable</body></html>",
    b'"',
    b'"unclosed\tquote',
    b"\x00\x00\x00",
    b"\xff\xfe\x00A\x00B",
    b"\t\t\t",
    b",,,,,,,,,,,,",
    b"|||",
)
DAMAGE_BYTES = b'"\t,|\r\x00\xff\x81\x9d\xc3\xa9 \\\n'


def damaged(data: bytes, header_lines: int, rng: random.Random) -> bytes:
    """The file with its header intact and its body hit by a few random kinds of damage."""
    lines = data.split(b"\n")
    head, body = lines[:header_lines], lines[header_lines:]
    for _ in range(rng.randint(1, 12)):
        at = rng.randrange(len(body))
        kind = rng.randrange(6)
        if kind == 0:  # overwrite bytes
            line = bytearray(body[at])
            for _ in range(rng.randint(1, 4)):
                if line:
                    line[rng.randrange(len(line))] = rng.choice(DAMAGE_BYTES)
            body[at] = bytes(line)
        elif kind == 1:  # cut a piece out: ragged rows, split fields
            line = body[at]
            start = rng.randrange(len(line) + 1)
            body[at] = line[:start] + line[start + rng.randint(1, 40) :]
        elif kind == 2:  # a garbage line in the middle
            body.insert(at, rng.choice(GARBAGE_LINES))
        elif kind == 3:  # random bytes
            body.insert(at, bytes(rng.randrange(256) for _ in range(rng.randint(1, 80))))
        elif kind == 4:  # a line repeated
            body.insert(at, body[at])
        else:  # blank lines, some with only whitespace
            body.insert(at, rng.choice([b"", b"\r", b"   ", b" \t "]))
    if rng.random() < 0.3:  # the upload stopped mid-line
        tail = b"\n".join(body)
        body = [tail[: rng.randrange(len(tail) // 2, len(tail))]]
    return b"\n".join([*head, *body])
