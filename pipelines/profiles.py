"""Mapping profiles: one TOML file per source system, read here and matched to file headers."""
from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import opencc

from pipelines import redact
from pipelines.contract import FEEDS

# Roster columns a source may identify its users by (resolved to manager_id on the way in).
EXTERNAL_IDS = ("manager_id", "crm_user_id", "lms_account", "email")
TRANSFORMS = ("seconds_to_minutes", "hours_to_minutes", "utc_to_local")
SECTIONS = {"name", "feed", "format", "description", "date_formats", "columns", "values",
            "defaults", "resolve", "derive", "transforms", "keep", "calendar", "client_names"}
CALENDARS = ("auto", "roc", "gregorian")   # per date column; auto tells ROC dates per value


class ProfileError(Exception):
    """A profile file that cannot be used, or a file no profile fits."""


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def norm(text: str) -> str:
    """Compare headers and values the same whether written in Traditional or Simplified Chinese,
    in any case and width, with or without spaces, underscores and dashes."""
    folded = _t2s().convert(unicodedata.normalize("NFKC", text).strip().lower())
    return "".join(folded.split()).replace("_", "").replace("-", "")


def id_key(text: str) -> str:
    """An id as people type it: any case, full or half width, spaces anywhere."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


@dataclass(frozen=True)
class Profile:
    name: str
    feed: str
    format: str                                   # table (csv/tsv/xlsx) | xapi
    columns: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    resolve: dict[str, str] = field(default_factory=dict)    # column -> roster external id
    derive: dict[str, list[str]] = field(default_factory=dict)  # column -> canonical columns
    transforms: dict[str, str] = field(default_factory=dict)
    keep: dict[str, list[str]] = field(default_factory=dict)  # source header -> values kept
    calendar: dict[str, str] = field(default_factory=dict)    # date column -> CALENDARS
    client_names: tuple[str, ...] = ()   # more headers of a client-name column (redact.py)
    path: Path | None = None

    def sources(self, header: list[str]) -> dict[str, list[str]]:
        """canonical column -> the file's headers that feed it, in order of preference."""
        if self.format == "xapi":  # the xAPI reader already emits canonical columns
            return {c.name: [c.name] for c in FEEDS[self.feed].columns if c.name in header}
        index: dict[str, str] = {}
        for h in header:
            index.setdefault(norm(h), h)
        out: dict[str, list[str]] = {}
        for col in FEEDS[self.feed].columns:
            aliases = self.columns.get(col.name, [])
            found = [index[norm(a)] for a in [col.name, *aliases] if norm(a) in index]
            if found:
                out[col.name] = list(dict.fromkeys(found))
        return out

    def name_headers(self, header: list[str]) -> list[str]:
        """The file's headers of columns holding a client's name: never stored, masked in
        the row's free text."""
        names = {norm(n) for n in (*redact.CLIENT_NAME_HEADERS, *self.client_names)}
        return [h for h in header if h and norm(h) in names]

    def header_of(self, header: list[str], wanted: str) -> str | None:
        return next((h for h in header if norm(h) == norm(wanted)), None)

    def provides(self, header: list[str]) -> set[str]:
        """Canonical columns this file can fill through this profile."""
        return self.completed(set(self.sources(header)))

    def completed(self, found: set[str]) -> set[str]:
        """The canonical columns `found` in a file, with those defaults and derivations fill."""
        got = found | set(self.defaults)
        return got | {c for c, cols in self.derive.items() if set(cols) <= got}

    def known_names(self) -> dict[str, str]:
        """Normalised header -> the canonical column it names, for every name this profile
        knows (a canonical name, or an alias of one)."""
        out: dict[str, str] = {}
        for col in FEEDS[self.feed].columns:
            for name in [col.name, *([] if self.format == "xapi"
                                     else self.columns.get(col.name, []))]:
                out.setdefault(norm(name), col.name)
        return out

    def recognised(self, header: list[str]) -> list[str]:
        """The file's headers this profile knows, in the file's order."""
        known = self.known_names()
        return [h for h in header if h and norm(h) in known]

    def missing_required(self, header: list[str]) -> list[str]:
        have = self.provides(header)
        return [c for c in FEEDS[self.feed].required if c not in have]

    def value_map(self, column: str) -> tuple[dict[str, str], str | None]:
        """normalised raw value -> canonical value, and the value for anything unmapped."""
        table = self.values.get(column, {})
        mapping = {norm(alias): canonical for canonical, aliases in table.items()
                   if canonical != "_default" for alias in [canonical, *aliases]}
        enum = FEEDS[self.feed].column(column).enum
        for value in enum:
            mapping.setdefault(norm(value), value)
        default = table.get("_default")
        return mapping, default if isinstance(default, str) else None


def read_profile(path: Path) -> Profile:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc

    def fail(msg: str) -> ProfileError:
        return ProfileError(f"{path}: {msg}")

    unknown_sections = set(doc) - SECTIONS
    if unknown_sections:
        raise fail(f"unknown setting(s) {', '.join(sorted(unknown_sections))}; "
                   f"known: {', '.join(sorted(SECTIONS))}")
    feed = doc.get("feed")
    if feed not in FEEDS:
        raise fail(f"feed must be one of {', '.join(FEEDS)}, not {feed!r}")
    known = {c.name for c in FEEDS[feed].columns}
    for section in ("columns", "values", "defaults", "resolve", "derive", "transforms",
                    "calendar"):
        unknown = set(doc.get(section, {})) - known
        if unknown:
            raise fail(f"[{section}] names unknown column(s) of {feed}: "
                       f"{', '.join(sorted(unknown))}")
    for column, cols in doc.get("derive", {}).items():
        if set(cols) - known:
            raise fail(f"[derive] {column} is built from unknown column(s) "
                       f"{', '.join(sorted(set(cols) - known))}")
    for column, via in doc.get("resolve", {}).items():
        if via not in EXTERNAL_IDS:
            raise fail(f"[resolve] {column} = {via!r}: use one of {', '.join(EXTERNAL_IDS)}")
    for column, how in doc.get("transforms", {}).items():
        if how not in TRANSFORMS:
            raise fail(f"[transforms] {column} = {how!r}: use one of {', '.join(TRANSFORMS)}")
    for column, calendar in doc.get("calendar", {}).items():
        if FEEDS[feed].column(column).type not in ("date", "timestamp"):
            raise fail(f"[calendar] {column} is not a date column of {feed}")
        if calendar not in CALENDARS:
            raise fail(f"[calendar] {column} = {calendar!r}: use one of {', '.join(CALENDARS)}")
    return Profile(
        name=doc.get("name", path.stem), feed=feed, format=doc.get("format", "table"),
        columns={k: list(v) if isinstance(v, list) else [v]
                 for k, v in doc.get("columns", {}).items()},
        values=doc.get("values", {}), date_formats=tuple(doc.get("date_formats", ())),
        defaults={k: str(v) for k, v in doc.get("defaults", {}).items()},
        resolve=doc.get("resolve", {}), derive=doc.get("derive", {}),
        transforms=doc.get("transforms", {}), keep=doc.get("keep", {}),
        calendar=doc.get("calendar", {}), client_names=tuple(doc.get("client_names", ())),
        path=path)


def all_profiles(profiles_dir: Path) -> dict[str, Profile]:
    return {p.name: p for p in map(read_profile, sorted(profiles_dir.glob("*.toml")))}


def resolve(profiles_dir: Path, name_or_file: str) -> Profile:
    path = Path(name_or_file)
    if path.suffix == ".toml":
        if not path.exists():
            raise ProfileError(f"{path}: no such profile file")
        return read_profile(path)
    profiles = all_profiles(profiles_dir)
    if name_or_file not in profiles:
        raise ProfileError(f"no profile {name_or_file!r}; known: {', '.join(sorted(profiles))}")
    return profiles[name_or_file]


def header_scorer(profiles: Iterable[Profile]) -> Callable[[list[str]], tuple[bool, int]]:
    """Rates a candidate header row (its cells as text) as (some profile's required columns are
    all there, the most cells one profile knows): how a workbook's header row and data sheet
    are found under title rows and behind notes sheets."""
    known = [(p, p.known_names()) for p in profiles if p.format == "table"]

    def score(cells: list[str]) -> tuple[bool, int]:
        normed = {norm(c) for c in cells if c}
        best = (False, 0)
        for p, names in known:
            found = {names[n] for n in normed if n in names}
            if found:
                fits = all(c in p.completed(found) for c in FEEDS[p.feed].required)
                best = max(best, (fits, len(found)))
        return best

    return score


def _named(p: Profile, column: str) -> str:
    """A column as a file may name it: `manager_id (e.g. 客戶經理工號, 經理工號)`."""
    aliases = [a for a in dict.fromkeys(p.columns.get(column, [])) if a != column][:3]
    return f"{column} (e.g. {', '.join(aliases)})" if aliases else column


def detect(profiles: dict[str, Profile], header: list[str], fmt: str,
           feed: str | None = None, where: str | None = None) -> Profile:
    """The profile whose required columns all appear in the header, preferring the most matches.

    `where`: what was read, for the message when none fits (a workbook's sheet and header row);
    a workbook's message also names the flags that read another sheet or row."""
    kind = "xapi" if fmt == "xapi" else "table"
    candidates = [p for p in profiles.values() if p.format == kind and (feed is None
                                                                         or p.feed == feed)]
    fitting = [p for p in candidates if not p.missing_required(header)]
    if fitting:
        # most of the file's headers used; on a tie the feed's canonical profile (a source's
        # profile also accepts canonical headers), then the one needing fewest defaults
        return max(fitting, key=lambda p: (len(p.sources(header)), p.name == p.feed,
                                           -len(p.defaults)))
    if not candidates:
        raise ProfileError(f"no {kind} profile for feed {feed!r}")
    # the closest is the one that knows most of the file's columns (an unrelated feed with
    # few required columns is not close); then the one lacking fewest
    best = max(candidates, key=lambda p: (len(p.recognised(header)),
                                          -len(p.missing_required(header)), p.name == p.feed))
    knows = best.recognised(header)
    missing = best.missing_required(header)
    # a column the profile derives is missing for want of its parts: name those only
    lacks = ", ".join(_named(best, c) for c in missing
                      if not set(best.derive.get(c, [])) & set(missing))
    what = where or "this file"
    shown = [h[:40] for h in header if h][:8]
    columns = ", ".join(shown) + (", ..." if len([h for h in header if h]) > len(shown) else "")
    fixes = ("if the data is on another sheet, or its column names are in another row, say "
             "which with --sheet NAME or --header-row N; " if fmt == "xlsx" else "")
    if not knows:
        found = (f"none of its columns ({columns or 'all blank'}) is one a "
                 f"{feed + ' ' if feed else ''}profile knows")
    else:
        found = (f"closest is {best.name!r} ({best.feed}), which knows {len(knows)} of its "
                 f"columns ({', '.join(k[:40] for k in knows[:6])}) but lacks column(s) {lacks}")
    if feed is not None:
        raise ProfileError(
            f"{what} is not a {feed} export that a profile knows: {found}; {fixes}check the "
            "file, name its source with --profile, or add a profile under pipelines/profiles/")
    raise ProfileError(
        f"could not tell which feed {what} is: {found}; {fixes}name the feed with --feed or "
        "the source with --profile, or add a profile under pipelines/profiles/")
