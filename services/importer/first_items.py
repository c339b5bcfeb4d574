"""When a file's first items say it is of another format or not data at all.

Voter and parcel files alike are read for their first ``SAMPLE_ITEMS`` rows or features before an
upload is kept. A few bad items are the ledger's business; nearly all of them failing means the
wrong format was chosen (or the wrong file sent), and importing it would log every row one by one
or, worse, store the few rows that happen to fit as garbage.
"""

from __future__ import annotations

SAMPLE_ITEMS = 1000
FEW_ITEMS = 20  # below this many, a file is refused only when every item fails
REFUSED_SHARE = 0.9


def mostly_failing(seen: int, failed: int) -> bool:
    """Whether ``failed`` of the first ``seen`` items condemn the file."""
    if seen == 0 or failed == 0:
        return False
    if seen < FEW_ITEMS:
        return failed == seen
    return failed >= seen * REFUSED_SHARE
