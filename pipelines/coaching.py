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
        return self.cards[dimension][lang_key].format(**values)

    def unit(self, metric: str, lang_key: str) -> str:
        return self.units.get(metric, {}).get(lang_key, "")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@cache
def load_coaching(path: Path, metric_keys: tuple[str, ...] = ()) -> Coaching:
    """The cards for all ten dimensions in all three languages; errors name what to add."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CoachingError(f"{path}: {exc}") from exc
    cards, units = doc.get("cards", {}), doc.get("units", {})
    for dim in DIMENSIONS:
        for lang in LANG_KEYS:
            text = cards.get(dim, {}).get(lang)
            if not text:
                raise CoachingError(f"{path}: add [cards.{dim}] {lang} = \"...\"")
            unknown = _placeholders(text) - PLACEHOLDERS
            if unknown:
                raise CoachingError(f"{path}: [cards.{dim}] {lang} uses {sorted(unknown)}; "
                                    f"allowed: {sorted(PLACEHOLDERS)}")
    for key in metric_keys:
        for lang in LANG_KEYS:
            if not units.get(key, {}).get(lang):
                raise CoachingError(f"{path}: add [units.{key}] {lang} = \"...\"")
    return Coaching(cards=cards, units=units)
