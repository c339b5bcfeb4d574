"""JSON from outside (request bodies, uploads, provider responses) parsed without surprises.

``json.loads`` raises ``RecursionError``, not ``JSONDecodeError``, for arrays or objects nested
deeper than the interpreter's recursion limit; a few kilobytes of ``[`` would otherwise escape
every handler of malformed JSON.
"""

from __future__ import annotations

import json
from typing import Any

NESTED_TOO_DEEPLY = "nested too deeply"


def loads(text: str | bytes) -> Any:
    """``json.loads``; JSON nested too deeply is a ``JSONDecodeError`` like any malformed JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError(NESTED_TOO_DEEPLY, text if isinstance(text, str) else "", 0) from None
