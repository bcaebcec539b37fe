"""One way to state a size to a user: binary megabytes (MiB), the unit every limit is set and documented in."""

from __future__ import annotations

import math

MIB = 1024 * 1024


def format_mib(size_bytes: int | float) -> str:
    """``52428800`` -> ``"50 MiB"``; ``54945382`` -> ``"52.4 MiB"``.

    A fraction is rounded up to 0.1 MiB, so a size just over a limit never reads as equal to it ("50.1 MiB; the limit
    is 50 MiB", not "50.0 MiB; the limit is 50 MiB").
    """
    if size_bytes % MIB == 0:
        return f"{size_bytes // MIB:.0f} MiB"
    return f"{math.ceil(size_bytes * 10 / MIB) / 10:.1f} MiB"
