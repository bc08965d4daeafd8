"""Settling the server's heap once at start-up.

Python's cyclic garbage collector walks every tracked object in its oldest generation each time
that generation fills. After the dashboard's imports (Streamlit, pandas, Plotly's validators,
DuckDB) that is well over 100,000 objects that live as long as the process, and each such walk
paused a page run for about 100 ms (measured with `make bench-desk`: it made the slowest person
pages miss their 500 ms). Importing the pages up front and freezing what exists then moves those
objects out of the collector's sight; the walks that remain took 12-20 ms.

And warming each newly published snapshot: a thread checks the snapshot pointer every few
seconds and, when it names a new snapshot, opens it and runs the queries of the pages people
open first, so the first visitor after a publish does not pay for them."""
from __future__ import annotations

import gc
import logging
import threading
import time

WARM_EVERY_SECONDS = 2.0
_log = logging.getLogger(__name__)


def settle() -> None:
    """Import what every page run needs, then freeze the heap as it stands."""
    import plotly.graph_objects  # noqa: F401
    import plotly.io  # noqa: F401

    from dashboard.views import (  # noqa: F401
        data_health,
        game,
        leaderboard,
        person,
        team,
        wall,
    )
    gc.collect()
    gc.freeze()


def warm(snap: str) -> float:
    """Run the first queries of the leaderboard against `snap`; returns the seconds it took."""
    from dashboard.views import leaderboard

    started = time.perf_counter()
    leaderboard.warm_up(snap)
    return time.perf_counter() - started


def _warm_forever(interval: float) -> None:
    from streamlit import runtime

    from dashboard import data

    warmed = failed = None
    while True:
        try:
            snap = data.snapshot() if runtime.exists() else None   # the server's own caches
            if snap is not None and snap != warmed:
                _log.info("warmed %s in %.2f s", snap, warm(snap))
                warmed = snap
        # a torn pointer or a snapshot gone: the pages say so themselves; try again, and say
        # it once rather than every few seconds
        except Exception as exc:   # noqa: BLE001
            if repr(exc) != failed:
                _log.warning("warming the newest snapshot failed: %r", exc)
            failed = repr(exc)
        time.sleep(interval)


def start_warmer(interval: float = WARM_EVERY_SECONDS) -> threading.Thread:
    """Warm every new snapshot in the background for as long as the server runs."""
    thread = threading.Thread(target=_warm_forever, args=(interval,), name="snapshot-warmer",
                              daemon=True)
    thread.start()
    return thread
