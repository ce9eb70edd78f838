"""Cooperative termination: SIGTERM sets a flag that long work checks at safe points.

Raising from the signal handler itself is unsafe: if the signal lands inside a library finaliser the
exception is swallowed ("Exception ignored in ...") and the run carries on. Checking a flag at step
boundaries, between boosting rounds and before outputs are written stops the run cleanly instead, and
nothing is written after the request.
"""

from __future__ import annotations

import signal
import threading

_requested = threading.Event()


def request(signum: int | None = None, frame: object = None) -> None:  # noqa: ARG001
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if termination was requested."""
    if _requested.is_set():
        raise KeyboardInterrupt("terminated")


def install() -> None:
    """Route SIGTERM to the flag (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request)


def lightgbm_callback(env: object) -> None:  # noqa: ARG001
    """LightGBM callback: stop boosting promptly when termination was requested."""
    check()
