"""Labels in 繁體中文 (default), 简体中文 and English, from one catalogue per language."""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = {"zh-TW": "繁體中文", "zh-CN": "简体中文", "en": "English"}
DEFAULT = "zh-TW"


def _flatten(doc: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, key + ".")
        else:
            out[key] = str(v)
    return out


@cache
def catalogue(lang: str) -> dict[str, str]:
    path = LOCALES_DIR / f"{lang.replace('-', '_')}.toml"
    return _flatten(tomllib.loads(path.read_text(encoding="utf-8")))


def normalise(lang: str | None) -> str:
    """Accept zh-TW / zh_tw / en-US ...; anything unknown falls back to the default."""
    if not lang:
        return DEFAULT
    lang = lang.replace("_", "-")
    for code in LANGUAGES:
        if lang.lower() == code.lower():
            return code
    if lang.lower().startswith("en"):
        return "en"
    if lang.lower() in ("zh-hans", "zh-sg"):
        return "zh-CN"
    return DEFAULT


def column_suffix(lang: str) -> str:
    """The suffix of names the pipeline stores per language (name_zh_tw, name_zh_cn, name_en)."""
    return {"zh-TW": "zh_tw", "zh-CN": "zh_cn", "en": "en"}[normalise(lang)]


def t(lang: str, key: str, **values: object) -> str:
    """The label for `key`; a missing key shows itself (and the test suite forbids that)."""
    text = catalogue(lang).get(key) or catalogue(DEFAULT).get(key) or key
    return text.format(**values) if values else text


LANG_KEY = "app_lang"


def current() -> str:
    """The language chosen for this session (set by the selector in app.py)."""
    import streamlit as st

    return normalise(st.session_state.get(LANG_KEY))


def translator(lang: str):
    """`t(key, **values)` bound to one language, for a page's many labels."""
    return lambda key, **values: t(lang, key, **values)


def period_label(lang: str, grain: str, period: str) -> str:
    """A period as people say it in the language: 2026-11 -> 2026年11月 / Nov 2026; a week by
    its Monday (11/02); a quarter 2026 Q4 / 2026年第4季."""
    from datetime import date

    if grain == "week":
        year, week = period.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
        return t(lang, "period.week", month=monday.month, day=monday.day, year=monday.year)
    if grain == "quarter":
        year, q = period.split("Q")
        return t(lang, "period.quarter", year=int(year), q=int(q))
    year, month = period.split("-")
    return t(lang, "period.month", year=int(year), month=int(month),
             name=t(lang, f"month.m{int(month)}"))


def number(value: object, digits: int = 1) -> str:
    """A number for a cell or a sentence; blank (never None/nan) when there is none."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if f != f:   # NaN
        return ""
    return f"{f:,.{digits}f}"


def md(text: object) -> str:
    """A value from a file, safe inside Markdown (titles, captions, st.markdown): every ASCII
    punctuation mark is backslash-escaped, so a name like ![x](http://host/a.png) shows as
    typed instead of becoming an image or a link."""
    s = "" if text is None else str(text)
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in s).replace("\n", " ")


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:=&\"'^%@")
