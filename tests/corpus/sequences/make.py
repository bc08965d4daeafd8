"""Writes the sequence corpus (files loaded one after another):
`python tests/corpus/sequences/make.py`."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
VISITS = ["客戶經理工號", "客戶編號", "拜訪日期", "拜訪方式", "拜訪目的", "拜訪時長"]
VISITS_SIMPLIFIED = ["客户经理工号", "客户编号", "拜访日期", "拜访方式", "拜访目的", "拜访时长"]
SIMPLIFIED = {"線上": "线上", "實地拜訪": "实地拜访", "日常維護": "日常维护", "回訪": "回访",
              "續貸": "续贷", "電話": "电话"}
ROSTER = ["manager_id", "name", "team_id", "team_name", "branch", "peer_group", "hire_date",
          "lms_account", "email"]
MORE = "/xapi/statements?more=abc"


def _csv(name: str, head: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows(rows)
    (HERE / name).write_bytes(buf.getvalue().encode(encoding))


def _json(name: str, doc: dict) -> None:
    (HERE / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def _statement(i: int) -> dict:
    return {"id": f"00000000-0000-4000-8000-{i:012d}",
            "actor": {"account": {"homePage": "https://lms", "name": "lms-a1"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://lms/c/1", "definition": {
                "name": {"zh-TW": "授信實務"},
                "extensions": {"https://lms/ext/category": "credit"}}},
            "result": {"duration": "PT1H30M", "score": {"raw": 8, "min": 0, "max": 10}},
            "timestamp": f"2026-11-0{i}T02:00:00Z"}


def corrected_idless_export() -> None:
    """A CRM visit log without row ids (ROC dates), then its corrected re-export from a
    mainland-built system (GB18030, Simplified headers and spellings)."""
    v1 = [["A1", "C1", "115/11/03 10:00", "實地拜訪", "日常維護", "30"],
          ["A1", "C2", "115/11/04 10:00", "實地拜訪", "日常維護", "30"],
          ["A1", "C3", "115/11/05 14:00", "電話", "回訪", "10"],
          ["A2", "C4", "115/11/03 09:00", "實地拜訪", "續貸", "45"],
          ["A2", "C5", "115/11/06 16:00", "實地拜訪", "日常維護", "30"],
          ["B1", "C6", "115/11/07 11:00", "線上", "日常維護", "20"]]
    v2 = [row[:] for row in v1]
    v2[1][4] = "回訪"                  # purpose corrected: another derived id
    v2[4][2] = "115/11/05 16:00"       # date corrected: another derived id
    v2[5][5] = "25"                    # duration corrected: the same id, updated
    _csv("idless_visits_v1.csv", VISITS, v1)
    _csv("idless_visits_v2_corrected.csv", VISITS_SIMPLIFIED,
         [[SIMPLIFIED.get(c, c) for c in row] for row in v2], "gb18030")


def refetched_voided_page() -> None:
    """An LRS page, the next page voiding one of its statements, the first page again."""
    void = {"id": "00000000-0000-4000-8000-000000009001",
            "actor": {"account": {"homePage": "https://lms", "name": "lms-a1"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": _statement(2)["id"]},
            "timestamp": "2026-11-05T02:00:00Z"}
    _json("lrs_page1.json", {"statements": [_statement(i) for i in (1, 2, 3)], "more": MORE})
    _json("lrs_page2_voids.json", {"statements": [void, _statement(4)], "more": ""})
    _json("lrs_page1_refetched.json",
          {"statements": [_statement(i) for i in (3, 2, 1)], "more": MORE})


def retry_after_roster_fix() -> None:
    """Visits of a new hire the roster does not have yet (once typed in lower case), then the
    roster row that adds them."""
    _csv("visits_new_hire.csv", VISITS, [
        ["A1", "C1", "2026/11/03 10:00", "實地拜訪", "日常維護", "30"],
        ["c9", "C7", "2026/11/03 11:00", "實地拜訪", "日常維護", "30"],
        ["C9", "C8", "2026/11/04 11:00", "實地拜訪", "回訪", "30"]])
    _csv("roster_new_hire.csv", ROSTER, [
        ["C9", "林新進", "T2", "乙組", "台中", "retail", "2026-11-01", "lms-c9", "c9@bank.tw"]])


if __name__ == "__main__":
    corrected_idless_export()
    refetched_voided_page()
    retry_after_roster_fix()
