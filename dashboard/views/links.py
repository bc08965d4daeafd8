"""Links between pages: a person or a team opens their page, by a click or a shareable URL."""
from __future__ import annotations

import streamlit as st

from dashboard import i18n

# set by app.py when it builds the navigation (a page rendered alone, as in tests, has none)
PAGES: dict[str, st.Page] = {}


def _params(**values: str) -> dict[str, str]:
    return {**values, "lang": i18n.current()}


def open_person(manager_id: str) -> None:
    if "person" in PAGES:
        st.switch_page(PAGES["person"], query_params=_params(id=str(manager_id)))


def open_team(team_id: str) -> None:
    if "team" in PAGES:
        st.switch_page(PAGES["team"], query_params=_params(id=str(team_id)))


def person_link(manager_id: str, name: str, key: str | None = None) -> None:
    if "person" in PAGES:
        st.page_link(PAGES["person"], label=i18n.md(name), icon=":material/person:",
                     query_params=_params(id=str(manager_id)))


def team_link(t, team_id: str, team_name: str) -> None:
    if "team" in PAGES:
        st.page_link(PAGES["team"], label=t("team.open", team=i18n.md(team_name)),
                     icon=":material/groups:", query_params=_params(id=str(team_id)))


def selected(event, ids: list[str]) -> str | None:
    """The id of the row a user clicked in a table shown with on_select="rerun" (a cell click
    in single-cell mode, or a row's checkbox); positions are the table's own, whatever the
    user sorted it by."""
    selection = getattr(event, "selection", None)
    if selection is None:
        return None
    rows = list(getattr(selection, "rows", None) or [])
    rows += [cell[0] for cell in getattr(selection, "cells", None) or []]
    return ids[rows[0]] if rows and 0 <= rows[0] < len(ids) else None


def selected_point(event) -> str | None:
    """The customdata (an id) of the bar a user clicked in a chart shown with on_select."""
    try:
        points = event.selection.points
    except AttributeError:
        return None
    for p in points or []:
        custom = p.get("customdata")
        if isinstance(custom, list):
            custom = custom[0] if custom else None
        if custom is not None:
            return str(custom)
    return None
