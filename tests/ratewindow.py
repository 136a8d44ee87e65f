"""Keep a test's burst of requests inside one window of the API's rate limit.

The throttle (governance/api/throttling.py) is a sliding window counter: the rate is checked
against this window's count plus the previous window's count weighted by how much of it still
overlaps the last period. Just after a window boundary that weight is a little below 1, so a
burst that straddles the boundary gets one request more than its budget: with 5/min, requests
at 59.8 s, 59.9 s, 60.0 s, 60.1 s, 60.2 s and 60.3 s of the clock weigh 2.98 + 2 < 5 at the
sixth, and it is let through. That is the algorithm's documented approximation, not a fault,
but a test that expects the sixth to be refused then fails (CI of 62c6f10 did, once in a few
dozen runs). Tests that spend a budget in real time call :func:`inside_one_window` first.
"""

from __future__ import annotations

import time


def inside_one_window(needed: float, period: float = 60.0) -> float:
    """Sleep, if the current window ends within ``needed`` seconds, until the next begins, so
    that the next ``needed`` seconds fall inside one window; return the seconds slept."""
    assert 0 < needed <= period / 2, "a burst that long cannot be kept inside one window"
    left = period - time.time() % period  # the throttle's windows start at multiples of it
    if left >= needed:
        return 0.0
    time.sleep(left + 0.05)
    return left + 0.05
