"""Incremental GeoJSON document reader: one feature at a time, never the whole file.

The stdlib decoder (C speed) decodes each feature from a sliding text buffer with ``raw_decode``; this
module only walks the few top-level tokens around the ``features`` array. A feature that is not valid
JSON but whose brackets balance is reported and skipped; anything worse (truncated file, unbalanced
brackets, garbage between features) ends the stream with ``StreamBroken`` saying where.
Bytes that are not UTF-8 survive as surrogate escapes and are re-read as Windows-1252 per value.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from ._geometry import crs_problem
from ._model import ParcelError, ParcelFormatError

CHUNK_BYTES: Final = 1 << 20
MAX_VALUE_CHARS: Final = 32 << 20  # one feature's text; a huge rural parcel is a few MB
_DECODER: Final = json.JSONDecoder(strict=False)


def _decode(text: str, pos: int) -> tuple[Any, int]:
    """``raw_decode``; a value nested too deeply is malformed JSON, not a ``RecursionError``."""
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, pos) from None


_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
# Tokens that matter for bracket matching; a lone '"' means a string the buffer cuts off.
_STRUCTURE: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|"|[{}\[\]]', re.DOTALL)
_CLOSERS: Final = {"}": "{", "]": "["}
_KEPT_MEMBERS: Final = frozenset({"type", "geometry", "properties", "id", "attributes"})


class StreamBroken(Exception):
    """The document cannot be read past this point; ``item`` is the feature where it broke."""

    def __init__(self, item: int, reason: str) -> None:
        super().__init__(reason)
        self.item = item
        self.reason = reason


class _Buffer:
    """A decoded text window over a binary stream; ``pos`` indexes ``text``."""

    def __init__(self, stream: BinaryIO) -> None:
        self._read = stream.read
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
        self.text = ""
        self.pos = 0
        self.base = 0  # characters dropped before text[0]
        self.eof = False

    def offset(self, index: int | None = None) -> int:
        """Character offset in the document of ``text[index]`` (default: ``pos``)."""
        return self.base + (self.pos if index is None else index)

    def fill(self) -> bool:
        """Append more text, dropping what lies before ``pos``; False at end of input."""
        if self.eof:
            return False
        if self.pos:
            self.text, self.base, self.pos = self.text[self.pos :], self.base + self.pos, 0
        # Grow reads with the pending value so one huge feature decodes in O(n), not O(n^2 / chunk).
        chunk = self._read(max(CHUNK_BYTES, len(self.text)))
        self.eof = not chunk
        self.text += self._decoder.decode(chunk, final=self.eof)
        return True

    def peek(self) -> str:
        """The next non-blank character (``pos`` left on it), or ``""`` at end of input."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def value(self) -> Any:
        """Decode the JSON value at ``pos`` and move past it; ``JSONDecodeError`` when malformed."""
        self.peek()  # raw_decode does not skip leading whitespace
        while True:
            try:
                value, end = _decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or not self._maybe_cut_off(exc):
                    raise
            else:
                if end < len(self.text) or self.eof or isinstance(value, dict | list | str):
                    self.pos = end
                    return value
                # else: a bare number at the window's end may continue in the next chunk
            if len(self.text) - self.pos > MAX_VALUE_CHARS:
                raise json.JSONDecodeError(
                    f"value longer than {MAX_VALUE_CHARS >> 20} MiB", self.text, self.pos
                )
            self.fill()

    def _maybe_cut_off(self, exc: json.JSONDecodeError) -> bool:
        # An error at the window's end, or a string still open there, may just be a chunk boundary.
        return exc.pos >= len(self.text) - 64 or exc.msg.startswith("Unterminated string")

    def skip_brackets(self) -> bool:
        """Move past the object/array at ``pos`` by bracket matching alone; False if that fails."""
        if self.peek() not in ("{", "["):
            return False
        stack: list[str] = []
        index = self.pos
        while True:
            match = _STRUCTURE.search(self.text, index)
            if match is None or match.group() == '"':
                resume_at = len(self.text) if match is None else match.start()
                old_base = self.base
                if index - self.pos > MAX_VALUE_CHARS or not self.fill():
                    return False
                index = resume_at - (self.base - old_base)
                continue
            index = match.end()
            token = match.group()
            if token in ("{", "["):
                stack.append(token)
            elif token in _CLOSERS:
                if not stack or stack.pop() != _CLOSERS[token]:
                    return False
                if not stack:
                    self.pos = index
                    return True


class FeatureStream:
    """Iterates ``(item, feature)`` over a GeoJSON FeatureCollection, array of Features, or one Feature.

    ``feature`` is the decoded object, or a ``ParcelError`` for a feature that is not valid JSON.
    ``crs_note`` names the collection's non-lon/lat ``crs`` once it has been read (it precedes
    ``features`` in practice). Raises ``StreamBroken`` when reading cannot continue.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._buf = _Buffer(stream)
        self.crs_note: str | None = None
        self.count = 0

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        first = self._buf.peek()
        if first == "[":
            yield from self._features()
        elif first == "{":
            yield from self._document()
        elif first == "":
            raise ParcelFormatError("the GeoJSON file is empty")
        else:
            raise ParcelFormatError(f"not GeoJSON: the file starts with {first!r}, not '{{' or '['")

    def _document(self) -> Iterator[tuple[int, Any]]:
        buf = self._buf
        buf.pos += 1
        members: dict[str, Any] = {}
        saw_features = False
        while (char := buf.peek()) != "}":
            if char == ",":
                buf.pos += 1
                continue
            key = self._member_name(char)
            if key == "features" and buf.peek() == "[":
                saw_features = True
                yield from self._features()
                continue
            value = self._top_value(key)
            if key == "crs":
                self.crs_note = crs_problem(value)
            elif key in _KEPT_MEMBERS:
                members[key] = value
        if not saw_features:
            yield from self._lone_feature(members)

    def _member_name(self, char: str) -> str:
        if char != '"':
            raise self._broken(f"expected a member name, found {char!r}" if char else "the file ends early")
        key = self._top_value("member name")
        if self._buf.peek() != ":":
            raise self._broken(f"expected ':' after {str(key)[:40]!r}")
        self._buf.pos += 1
        return str(key)

    def _top_value(self, what: str) -> Any:
        try:
            return self._buf.value()
        except json.JSONDecodeError as exc:
            raise self._broken(f"malformed JSON in the top-level {what!r}: {exc.msg}") from None

    def _lone_feature(self, members: dict[str, Any]) -> Iterator[tuple[int, Any]]:
        kind = members.get("type")
        if kind == "Feature" or "attributes" in members:
            self.count = 1
            yield 1, members
        elif kind == "Topology":
            raise ParcelFormatError("TopoJSON is not supported: convert it to a GeoJSON FeatureCollection")
        else:
            raise ParcelFormatError(
                f"not a GeoJSON FeatureCollection or Feature: no 'features' array in this {kind or 'JSON'} object"
            )

    def _features(self) -> Iterator[tuple[int, Any]]:
        buf = self._buf
        buf.pos += 1
        while (char := buf.peek()) != "]":
            if char == "":
                raise self._broken("the file ends inside the features array", next_item=True)
            self.count += 1
            start = buf.offset()
            try:
                feature: Any = buf.value()
            except json.JSONDecodeError as exc:
                reason = (
                    f"malformed JSON in feature {self.count} (character {buf.offset(exc.pos)}): {exc.msg}"
                )
                if not buf.skip_brackets():
                    raise self._broken(f"{reason}; cannot find where it ends") from None
                feature = ParcelError(self.count, "json", reason)
            yield self.count, feature
            self._after_feature(start)
        buf.pos += 1

    def _after_feature(self, start: int) -> None:
        buf = self._buf
        char = buf.peek()
        if char == ",":
            buf.pos += 1
        elif char not in ("]", "{"):  # "{": a missing comma; the next feature is still readable
            found = repr(char) if char else "the end of the file"
            reason = f"expected ',' or ']' after feature {self.count} (from character {start}), found {found}"
            raise self._broken(reason, next_item=True)

    def _broken(self, reason: str, *, next_item: bool = False) -> StreamBroken:
        item = self.count + 1 if next_item else max(self.count, 1)
        return StreamBroken(item, f"{reason} at character {self._buf.offset()}; stopped reading")
