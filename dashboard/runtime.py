"""Settling the server's heap once at start-up.

Python's cyclic garbage collector walks every tracked object in its oldest generation each time
that generation fills. After the dashboard's imports (Streamlit, pandas, Plotly's validators,
DuckDB) that is well over 100,000 objects that live as long as the process, and each such walk
paused a page run for about 100 ms (measured with `make bench-desk`: it made the slowest person
pages miss their 500 ms). Importing the pages up front and freezing what exists then moves those
objects out of the collector's sight; the walks that remain took 12-20 ms."""
from __future__ import annotations

import gc


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
