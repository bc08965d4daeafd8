"""Coaching cards and metric units: read and check coaching.toml (what the person page says)."""
from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipelines.contract import DIMENSIONS

LANG_KEYS = ("zh_TW", "zh_CN", "en")
PLACEHOLDERS = frozenset({"score", "median", "metric", "gap"})


class CoachingError(ValueError):
    """coaching.toml is missing a card or a unit, or a card uses an unknown placeholder."""


@dataclass(frozen=True)
class Coaching:
    cards: dict[str, dict[str, str]]     # dimension -> language key -> text
    units: dict[str, dict[str, str]]     # metric key -> language key -> noun

    def card(self, dimension: str, lang_key: str, **values: object) -> str:
        try:
            return self.cards[dimension][lang_key].format(**values)
        except (ValueError, KeyError, IndexError) as exc:   # a format spec the text cannot take
            raise CoachingError(f"[cards.{dimension}] {lang_key}: {exc}") from exc

    def unit(self, metric: str, lang_key: str) -> str:
        return self.units.get(metric, {}).get(lang_key, "")


def _placeholders(text: str) -> set[str]:
    """The {names} a card uses; a lone brace is an error (write {{ or }} for a brace)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise CoachingError(f"{exc} (write {{{{ or }}}} for a brace)") from exc


def load_coaching(path: Path, metric_keys: tuple[str, ...] = ()) -> Coaching:
    """The cards for all ten dimensions in all three languages; errors name what to add.
    Read again when the file changes, so an admin's edit shows on the next page load."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise CoachingError(f"{path.name}: {exc.strerror or exc}") from exc
    return _load(path, stamp, metric_keys)


@cache
def _load(path: Path, stamp: int, metric_keys: tuple[str, ...]) -> Coaching:
    del stamp   # part of the cache key only
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CoachingError(f"{path.name}: {exc}") from exc
    cards, units = doc.get("cards", {}), doc.get("units", {})
    for dim in DIMENSIONS:
        for lang in LANG_KEYS:
            text = cards.get(dim, {}).get(lang)
            if not text:
                raise CoachingError(f"{path.name}: add [cards.{dim}] {lang} = \"...\"")
            try:
                unknown = _placeholders(text) - PLACEHOLDERS
            except CoachingError as exc:
                raise CoachingError(f"{path.name}: [cards.{dim}] {lang}: {exc}") from exc
            if unknown:
                raise CoachingError(f"{path.name}: [cards.{dim}] {lang} uses {sorted(unknown)}; "
                                    f"allowed: {sorted(PLACEHOLDERS)}")
    for key in metric_keys:
        for lang in LANG_KEYS:
            if not units.get(key, {}).get(lang):
                raise CoachingError(f"{path.name}: add [units.{key}] {lang} = \"...\"")
    return Coaching(cards=cards, units=units)
