"""Every label exists in every language; nothing the product shows falls back to a raw key."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard import i18n
from pipelines.contract import DIMENSIONS, GRAINS, PEER_GROUPS
from pipelines.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent


def test_catalogues_have_the_same_keys():
    keys = {lang: set(i18n.catalogue(lang)) for lang in i18n.LANGUAGES}
    base = keys[i18n.DEFAULT]
    for lang, k in keys.items():
        assert k == base, (lang, sorted(k ^ base))


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_every_dimension_metric_grain_and_peer_group_has_a_label(lang):
    cat = i18n.catalogue(lang)
    rules = load_rules(ROOT / "pipelines" / "rules.toml")
    wanted = ([f"dimension.{d}" for d in DIMENSIONS] + [f"grain.{g}" for g in GRAINS]
              + [f"peer_group.{p}" for p in PEER_GROUPS]
              + [f"metric.{m.key}" for m in rules.metrics])
    assert [k for k in wanted if not cat.get(k)] == []


def test_every_quarantine_reason_in_the_code_has_a_label():
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "pipelines").rglob("*.py"))
    reasons = set(re.findall(r'Reject\(\w+, "(\w+)"', code))
    reasons |= set(re.findall(r'_fail\([^,]+, "(\w+)"', code))
    reasons |= {f"invalid_{t}" for t in ("timestamp", "date", "bool", "number", "int", "month")}
    reasons |= {"duplicate_in_file", "not_applicable"}
    assert len(reasons) > 10
    for lang in i18n.LANGUAGES:
        assert [r for r in sorted(reasons) if f"quarantine.{r}" not in i18n.catalogue(lang)] == []


def test_traditional_chinese_is_the_default_and_languages_normalise():
    assert i18n.DEFAULT == "zh-TW"
    assert i18n.normalise(None) == "zh-TW"
    assert i18n.normalise("zh_cn") == "zh-CN"
    assert i18n.normalise("en-US") == "en"
    assert i18n.normalise("klingon") == "zh-TW"
    assert i18n.t("en", "gate.floor", dimension="Risk") == "Risk below the floor"


HALF_WIDTH_NEXT_TO_HAN = re.compile(
    r"[\u4e00-\u9fff「」（）][,;:!?()]|[,;:!?()][\u4e00-\u9fff「」（）]")


def _outside_placeholders(text: str) -> str:
    return re.sub(r"\{[^{}]*\}", "{}", text)


@pytest.mark.parametrize("lang", ["zh-TW", "zh-CN"])
def test_chinese_texts_use_full_width_punctuation(lang):
    """A Chinese sentence with ASCII commas and colons reads as a machine's: every catalogue
    text and coaching card in Chinese punctuates with ，：；（） next to Han characters."""
    import tomllib

    texts = dict(i18n.catalogue(lang))
    coaching = tomllib.loads(Path("pipelines/coaching.toml").read_text(encoding="utf-8"))
    lang_key = lang.replace("-", "_")
    for dim, card in coaching["cards"].items():
        texts[f"coaching.{dim}"] = card[lang_key]
    for metric, unit in coaching["units"].items():
        texts[f"unit.{metric}"] = unit[lang_key]
    # brackets and commas are full-width even between placeholders: "{metric}（{why}）"
    bad = {k: v for k, v in texts.items()
           if HALF_WIDTH_NEXT_TO_HAN.search(_outside_placeholders(v))
           or re.search(r"[(),;]", _outside_placeholders(v))}
    assert not bad, bad
