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
