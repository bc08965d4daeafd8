"""Mapping profiles: one TOML file per source system, read here and matched to file headers."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.contract import FEEDS


class ProfileError(Exception):
    """A profile file that cannot be used, or a file no profile fits."""


@dataclass(frozen=True)
class Profile:
    name: str
    feed: str
    format: str                                   # table (csv/xlsx) | xapi
    columns: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    path: Path | None = None

    def mapping(self, header: list[str]) -> dict[str, str]:
        """canonical column -> the header it appears under in this file."""
        if self.format == "xapi":  # the xAPI reader already emits canonical columns
            return {c.name: c.name for c in FEEDS[self.feed].columns if c.name in header}
        index = {norm(h): h for h in header}
        out = {}
        for canonical, aliases in self.columns.items():
            for alias in [canonical, *aliases]:
                if norm(alias) in index:
                    out[canonical] = index[norm(alias)]
                    break
        return out

    def missing_required(self, header: list[str]) -> list[str]:
        found = self.mapping(header)
        return [c for c in FEEDS[self.feed].required if c not in found]


def norm(header: str) -> str:
    return "".join(header.lower().split()).replace("_", "").replace("-", "")


def read_profile(path: Path) -> Profile:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    feed = doc.get("feed")
    if feed not in FEEDS:
        raise ProfileError(f"{path}: feed must be one of {', '.join(FEEDS)}, not {feed!r}")
    known = {c.name for c in FEEDS[feed].columns}
    unknown = set(doc.get("columns", {})) - known
    if unknown:
        raise ProfileError(f"{path}: unknown columns for feed {feed}: {', '.join(sorted(unknown))}")
    return Profile(name=doc.get("name", path.stem), feed=feed, format=doc.get("format", "table"),
                   columns=doc.get("columns", {}), values=doc.get("values", {}), path=path)


def all_profiles(profiles_dir: Path) -> dict[str, Profile]:
    return {p.name: p for p in map(read_profile, sorted(profiles_dir.glob("*.toml")))}


def resolve(profiles_dir: Path, name_or_file: str) -> Profile:
    path = Path(name_or_file)
    if path.suffix == ".toml" and path.exists():
        return read_profile(path)
    profiles = all_profiles(profiles_dir)
    if name_or_file not in profiles:
        raise ProfileError(f"no profile {name_or_file!r}; known: {', '.join(sorted(profiles))}")
    return profiles[name_or_file]


def detect(profiles: dict[str, Profile], header: list[str], fmt: str,
           feed: str | None = None) -> Profile:
    """The profile whose required columns all appear in the header, preferring the most matches."""
    kind = "xapi" if fmt == "xapi" else "table"
    candidates = [p for p in profiles.values() if p.format == kind and (feed is None
                                                                         or p.feed == feed)]
    fitting = [p for p in candidates if not p.missing_required(header)]
    if fitting:
        return max(fitting, key=lambda p: len(p.mapping(header)))
    if not candidates:
        raise ProfileError(f"no {kind} profile for feed {feed!r}")
    best = min(candidates, key=lambda p: len(p.missing_required(header)))
    raise ProfileError(
        f"could not tell which feed this file is: closest is {best.name!r}, which lacks column(s) "
        f"{', '.join(best.missing_required(header))}; name the feed with --feed or the source "
        "with --profile, or add a profile under pipelines/profiles/")
