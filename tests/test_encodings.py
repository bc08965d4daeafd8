"""Legacy Chinese encodings told apart: GB18030 (mainland), Big5 as Taiwan's Windows writes it
(cp950) and Big5-HKSCS (Hong Kong). GB18030 decodes nearly any bytes, so a Big5 file must not
be read as it and land as nonsense."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipelines import load
from pipelines.sources.csv_source import detect_encoding
from tests.conftest import query

HEADER = "contact_id,manager_id,client_id,occurred_at,channel,purpose,client_tier,notes\n"
# words of bank notes as each region writes them
TRADITIONAL = ["宏碁股份有限公司", "裏面", "恒溫", "客戶經理", "拜訪", "續貸", "貸後檢查",
               "臺北分行", "營業額", "擔保品", "電話追蹤", "銹蝕", "報價€1,200", "（已完成）",
               "，", "：", "授信覆審", "資金週轉", "廠房設備", "應收帳款"]
HONG_KONG = ["黃堃先生", "栢麗大道", "舖位", "香港分行", "客戶經理", "續期"]
SIMPLIFIED = ["客户经理", "拜访", "续贷", "贷后检查", "上海分行", "营业额", "担保品", "电话跟进",
              "（已完成）", "，", "应收账款", "资金周转", "厂房设备"]


def _file(tmp_path, name: str, notes: list[str], encoding: str):
    rows = "".join(f"K{i},A1,C{i},2026-11-03 10:00,visit,service,\"{note}\",\"{note}\"\n"
                   for i, note in enumerate(notes))
    path = tmp_path / name
    path.write_bytes((HEADER + rows).encode(encoding))
    return path


@pytest.mark.parametrize("encoding,words", [
    ("cp950", ["宏碁股份有限公司", "裏面的恒溫設備"]), ("cp950", ["宏碁"]),
    ("cp950", ["報價€1,200元"]), ("cp950", TRADITIONAL * 50),
    ("big5hkscs", ["黃堃先生", "栢麗大道舖位"]), ("big5hkscs", HONG_KONG * 40),
    ("big5", ["客戶經理拜訪臺北分行"]), ("gb18030", ["续贷"]), ("gb18030", SIMPLIFIED * 50),
])
def test_each_encoding_lands_its_text_exactly(roster_loaded, tmp_path, encoding, words):
    path = _file(tmp_path, "c.csv", words, encoding)
    [r] = load.load_paths(roster_loaded, [path])
    assert r.error is None and (r.landed, r.quarantined) == (len(words), 0), r
    assert r.detected["encoding"] == ("cp950" if encoding == "big5" else encoding)
    notes = [n for (n,) in query(roster_loaded, "SELECT notes FROM client_contact "
                                 "ORDER BY length(contact_id), contact_id")]
    assert notes == words


@hsettings(max_examples=60, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(region=st.sampled_from(["cp950", "big5hkscs", "gb18030"]), data=st.data())
def test_any_short_note_is_read_in_its_own_encoding(tmp_path_factory, region, data):
    pool = {"cp950": TRADITIONAL, "big5hkscs": HONG_KONG, "gb18030": SIMPLIFIED}[region]
    words = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6))
    path = _file(tmp_path_factory.mktemp("enc"), "c.csv", ["".join(words)], region)
    encoding, damaged = detect_encoding(path)
    assert damaged == 0
    assert path.read_bytes().decode(encoding) == path.read_bytes().decode(region)


def test_an_unknown_encoding_names_the_ones_tried(roster_loaded, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(HEADER.encode() + b"K1,A1,C1,2026-11-03,visit,service,A,"
                     + bytes(range(0x80, 0x100)) * 40 + b"\n")
    [r] = load.load_paths(roster_loaded, [path])
    assert r.error and all(name in r.error for name in ("GB18030", "cp950", "Big5-HKSCS"))
