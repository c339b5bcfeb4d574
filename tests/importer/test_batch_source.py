"""Batches of a voter file: records are hashed before parsing, so an unchanged record costs no parse."""

from __future__ import annotations

import io

from voterfiles import NC_CURRENT, encode, ncsbe_lines, sample_voters

from cocoa_importer.formats import open_reader
from cocoa_importer.grouping import RecordHasher
from cocoa_importer.voter_job import BatchSource

VOTERS = sample_voters(30, seed=5)


def source_for(data: bytes, batch_rows: int = 100) -> BatchSource:
    return BatchSource(open_reader("ncsbe", io.BytesIO(data)), "job", postgres=True, batch_rows=batch_rows)


def test_known_records_are_counted_unchanged_and_never_parsed() -> None:
    source = source_for(encode(ncsbe_lines(VOTERS)))
    raw = source.read()
    batch = source.build(raw, known={h for h in raw.hashes if h})
    assert (batch.rows, batch.unchanged, len(batch.voters), batch.households) == (30, 30, 0, [])
    assert batch.staged is not None
    assert batch.staged.voters_copy == b""


def test_unknown_records_are_parsed_and_staged_with_their_row_hash() -> None:
    source = source_for(encode(ncsbe_lines(VOTERS)))
    raw = source.read()
    batch = source.build(raw, known=set())
    assert (batch.unchanged, len(batch.voters)) == (0, 30)
    staged_hashes = [row[-3] for row in batch.voters.values()]
    assert staged_hashes == raw.hashes


def test_a_batch_ends_where_its_last_record_ends() -> None:
    data = encode(ncsbe_lines(VOTERS))
    source = source_for(data, batch_rows=10)
    first = source.build(source.read(), known=set())
    assert first.rows == 10
    assert not first.done
    assert first.position is not None
    assert data[: first.position.byte_offset].count(b"\n") == 11  # the header and ten records


def test_the_same_bytes_read_under_another_header_hash_differently() -> None:
    columns = list(NC_CURRENT)
    swapped = [columns[1], columns[0], *columns[2:]]
    line = ncsbe_lines(VOTERS[:1])[1].encode()
    plain = open_reader("ncsbe", io.BytesIO(encode(ncsbe_lines(VOTERS[:1]))))
    other = open_reader("ncsbe", io.BytesIO(encode(ncsbe_lines(VOTERS[:1], swapped))))
    assert RecordHasher(plain.fingerprint)(line) != RecordHasher(other.fingerprint)(line)
