"""Deterministic demo organisation: a bank's real-looking export files under data/demo/."""
from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl

DEFAULT_SEED = 7
START = date(2026, 5, 4)   # a Monday
END = date(2026, 11, 27)   # a Friday: the demo's "today" is the close of that week
# Taiwan public holidays in the window (bank branches closed).
HOLIDAYS = {
    date(2026, 6, 19),   # Dragon Boat Festival
    date(2026, 9, 25),   # Mid-Autumn Festival
    date(2026, 9, 28),   # Teachers' Day
    date(2026, 10, 9),   # National Day (observed)
    date(2026, 10, 26),  # Retrocession Day (observed)
}
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)

BRANCHES = {"TPE": "台北分行", "TXG": "台中分行", "KHH": "高雄分行"}

# team_id, branch, name, peer group, how much the team works together (0..1)
TEAMS = [
    ("T01", "TPE", "台北企金一組", "corporate", 0.9),
    ("T02", "TPE", "台北企金二組", "corporate", 0.05),
    ("T03", "TPE", "台北個金組", "retail", 0.4),
    ("T04", "TXG", "台中中小企業組", "sme", 0.45),
    ("T05", "TXG", "台中個金組", "retail", 0.35),
    ("T06", "KHH", "高雄企金組", "corporate", 0.4),
    ("T07", "KHH", "高雄中小企業組", "sme", 0.5),
    ("T08", "KHH", "高雄個金組", "retail", 0.4),
]
TEAM_SIZES = [8, 7, 8, 8, 7, 7, 8, 7]
COLLABORATIVE_TEAM, SILOED_TEAM = "T01", "T02"

# Named people whose stories the boards should tell; everyone else is "steady".
# (team_id, position in team) -> archetype
ARCHETYPE_SLOTS = {
    ("T01", 0): "all_rounder",
    ("T01", 1): "proactive_marketer",
    ("T04", 0): "proactive_marketer",
    ("T03", 0): "diligent_learner",
    ("T07", 0): "diligent_learner",
    ("T02", 0): "slipping_veteran",
    ("T06", 0): "slipping_veteran",
    ("T05", 0): "rising_newcomer",
    ("T08", 0): "rising_newcomer",
}
OPTED_OUT_SLOT = ("T03", 1)  # a strong performer who asked to stay off the wall screens

TRAITS = ("market", "marketing", "customer", "diligence", "risk", "compliance", "learning")
ARCHETYPE_TRAITS = {
    "all_rounder": dict.fromkeys(TRAITS, 0.95) | {"volume": 1.25},
    "proactive_marketer": {
        "market": 0.95, "marketing": 0.97, "customer": 0.6, "diligence": 0.5,
        "risk": 0.5, "compliance": 0.55, "learning": 0.05, "volume": 1.35,
    },
    "diligent_learner": {
        "market": 0.15, "marketing": 0.3, "customer": 0.2, "diligence": 0.75,
        "risk": 0.75, "compliance": 0.8, "learning": 0.97, "volume": 0.55,
    },
    "slipping_veteran": dict.fromkeys(TRAITS, 0.85) | {"volume": 1.1},
    "rising_newcomer": dict.fromkeys(TRAITS, 0.88) | {"volume": 1.0},
}

SEED_CHANNELS = ["supply_chain", "wholesale_market", "industrial_park_gov", "association",
                 "intermediary", "referral"]
PASSIVE_CHANNELS = ["walk_in", "online", "other"]
INDUSTRIES = ["建材", "木材", "汽車零件", "水產品", "服裝", "電子零組件", "食品加工", "物流",
              "精密機械", "批發零售", "觀光餐飲", "農業"]
ACTIVITY_TYPES = ["visit", "call", "event", "campaign", "referral", "market_research"]
OUTREACH_TYPES = [t for t in ACTIVITY_TYPES if t != "referral"]
CONTACT_CHANNELS = ["visit", "phone", "wechat", "email", "video", "branch"]
LEARNING_CATEGORIES = ["credit", "risk", "compliance", "law", "finance", "economics",
                       "management", "marketing", "psychology", "negotiation", "product", "ethics"]
PEER_SCALE = {  # marketing per day, contacts per day, book size, typical loan (TWD)
    "corporate": (1.0, 2.2, 45, 30_000_000),
    "sme": (1.3, 3.0, 80, 6_000_000),
    "retail": (1.7, 4.2, 160, 1_500_000),
}
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高"
GIVEN = "志明淑芬家豪怡君俊傑雅婷建宏美玲宗翰佳蓉冠宇欣怡承恩詩涵柏翰宜蓁彥廷思妤文雄秀英"

ADL = "http://adlnet.gov/expapi/verbs/"
LMS_HOME = "https://lms.example-bank.tw"
NOTES_MKT = ["拜訪園區廠商,了解擴廠資金需求", "參加公會餐敘,交換名片", "上游供應商介紹新客戶",
             "批發市場集中拜訪", "電話追蹤貸款申請進度", "市場調查:同業利率比較", ""]
NOTES_CONTACT = ["例行關懷", "貸後實地查核", "客戶反映手續費問題", "續約洽談", "", ""]


@dataclass
class Manager:
    manager_id: str
    name: str
    team_id: str
    peer_group: str
    collab: float
    hire_date: date
    archetype: str
    traits: dict[str, float]
    public_display: bool = True
    star: bool = False
    clients: list[tuple[str, str]] = field(default_factory=list)  # (client_id, tier)

    def effort(self, day: date) -> float:
        """How much of their ability shows on this day: the story of the archetype over time."""
        progress = (day - START).days / (END - START).days
        if self.archetype == "slipping_veteran":
            return 1.0 - 0.6 * progress
        if self.archetype == "rising_newcomer":
            return 0.35 + 0.65 * progress
        return 1.0


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def working_days(start: date = START, end: date = END) -> list[date]:
    days, d = [], start
    while d <= end:
        if d.weekday() < 5 and d not in HOLIDAYS:
            days.append(d)
        d += timedelta(days=1)
    return days


def build_roster(rng: random.Random) -> list[Manager]:
    managers, used_names, number = [], set(), 1
    for (team_id, _branch, _name, peer, collab), size in zip(TEAMS, TEAM_SIZES, strict=True):
        for pos in range(size):
            while True:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])
                if name not in used_names:
                    used_names.add(name)
                    break
            archetype = ARCHETYPE_SLOTS.get((team_id, pos), "steady")
            if archetype == "steady":
                base = rng.uniform(0.35, 0.68)
                traits = {t: min(1.0, max(0.0, base + rng.uniform(-0.15, 0.15))) for t in TRAITS}
                traits["volume"] = rng.uniform(0.8, 1.1)
            else:
                traits = dict(ARCHETYPE_TRAITS[archetype])
            if archetype == "rising_newcomer":
                hire = date(2026, 4, 1) + timedelta(days=rng.randint(0, 20))
            elif archetype == "slipping_veteran":
                hire = date(2008 + rng.randint(0, 4), rng.randint(1, 12), 1)
            else:
                hire = date(2012 + rng.randint(0, 12), rng.randint(1, 12), rng.randint(1, 28))
            m = Manager(
                manager_id=f"RM{number:03d}", name=name, team_id=team_id, peer_group=peer,
                collab=collab, hire_date=hire, archetype=archetype, traits=traits,
                public_display=(team_id, pos) != OPTED_OUT_SLOT,
                star=archetype == "all_rounder",
            )
            book = max(5, int(PEER_SCALE[peer][2] * traits["volume"]))
            m.clients = [
                (f"C{number:03d}{c:04d}", rng.choices("ABC", weights=(1, 3, 6))[0])
                for c in range(book)
            ]
            managers.append(m)
            number += 1
    return managers


def _work_time(rng: random.Random, day: date) -> datetime:
    # Mornings and afternoons, thinner over lunch.
    hour = rng.choices([9, 10, 11, 12, 13, 14, 15, 16, 17], weights=(6, 9, 9, 2, 4, 9, 9, 7, 3))[0]
    return datetime.combine(day, time(hour, rng.randrange(0, 60, 5)))


def _logged(rng: random.Random, m: Manager, occurred: datetime, effort: float) -> datetime:
    if rng.random() < 0.3 + 0.68 * m.traits["diligence"] * effort:
        when = occurred + timedelta(minutes=rng.randint(5, 240))
    else:
        when = occurred + timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 300))
    return min(when, datetime.combine(END, time(20, 0)))  # the export was taken that evening


def _ts(dt: datetime | None) -> str:
    return "" if dt is None else dt.strftime("%Y-%m-%d %H:%M")


def _slash_ts(dt: datetime | None) -> str:
    # How a Chinese-Windows Excel export writes timestamps: no zero padding, slashes.
    return "" if dt is None else f"{dt.year}/{dt.month}/{dt.day} {dt.hour:02d}:{dt.minute:02d}"


def gen_marketing(rng: random.Random, managers: list[Manager], days: list[date]) -> list[dict]:
    rows, seq = [], 1
    by_team: dict[str, list[Manager]] = {}
    for m in managers:
        by_team.setdefault(m.team_id, []).append(m)
    for m in managers:
        per_day, _, _, loan = PEER_SCALE[m.peer_group]
        t = m.traits
        n_channels = 1 + round(t["marketing"] * (len(SEED_CHANNELS) - 1))
        channels = rng.sample(SEED_CHANNELS, n_channels)
        industries = rng.sample(INDUSTRIES, 1 + round(t["market"] * (len(INDUSTRIES) - 1)))
        for day in days:
            if day < m.hire_date:
                continue
            e = m.effort(day)
            for _ in range(_poisson(rng, per_day * t["volume"] * (0.45 + 0.55 * e))):
                proactive = rng.random() < 0.15 + 0.8 * t["marketing"] * e
                channel = rng.choice(channels) if proactive else rng.choice(PASSIVE_CHANNELS)
                quality = (t["market"] + t["marketing"]) / 2 * e
                r = rng.random()
                if r < 0.08 + 0.12 * quality:
                    outcome = "approved"
                elif r < 0.2 + 0.18 * quality:
                    outcome = "application"
                elif r < 0.45 + 0.15 * quality:
                    outcome = "lead"
                elif r < 0.6:
                    outcome = "lost"
                else:
                    outcome = "none"
                amount = ""
                if outcome in ("application", "approved"):
                    amount = str(round(loan * rng.uniform(0.3, 2.0), -4))
                co = ""
                if rng.random() < 0.45 * m.collab:
                    mates = [x.manager_id for x in by_team[m.team_id] if x is not m]
                    co = ";".join(rng.sample(mates, 1 if rng.random() < 0.8 else 2))
                occurred = _work_time(rng, day)
                rows.append({
                    "activity_id": f"MA{seq:06d}",
                    "manager_id": m.manager_id,
                    "occurred_at": _ts(occurred),
                    "logged_at": _ts(_logged(rng, m, occurred, e)),
                    "type": "referral" if channel == "referral" else rng.choice(OUTREACH_TYPES),
                    "channel": channel,
                    "proactive": "Y" if proactive else "N",
                    "prospect_id": f"P{rng.randrange(10**6):06d}",
                    "industry": rng.choice(industries),
                    "outcome": outcome,
                    "amount": amount,
                    "co_manager_ids": co,
                    "notes": rng.choice(NOTES_MKT),
                })
                seq += 1
    return rows


def gen_contacts(rng: random.Random, managers: list[Manager], days: list[date]) -> list[dict]:
    rows, seq = [], 1
    for m in managers:
        _, per_day, _, _ = PEER_SCALE[m.peer_group]
        t = m.traits
        for day in days:
            if day < m.hire_date:
                continue
            e = m.effort(day)
            lam = per_day * t["volume"] * (0.5 + 0.5 * t["customer"] * e)
            for _ in range(_poisson(rng, lam)):
                client_id, tier = rng.choice(m.clients)
                purpose = rng.choices(
                    ["service", "follow_up", "post_loan_inspection", "renewal", "collection",
                     "risk_alert", "complaint"],
                    weights=(30, 25, 6 + 14 * t["risk"] * e, 10, 4, 1 + 3 * t["risk"], 1),
                )[0]
                channel = rng.choices(CONTACT_CHANNELS, weights=(25, 35, 15, 10, 5, 10))[0]
                if purpose == "post_loan_inspection":
                    channel = "visit"
                occurred = _work_time(rng, day)
                complaint = purpose == "complaint" or rng.random() < 0.04 * (1 - t["customer"] * e)
                resolved = ""
                if complaint:
                    fast = rng.random() < 0.3 + 0.65 * t["diligence"] * e
                    gap = timedelta(hours=rng.randint(2, 40)) if fast else timedelta(
                        days=rng.randint(4, 12))
                    when = occurred + gap
                    resolved = _slash_ts(when) if when.date() <= END else ""
                sat = ""
                if rng.random() < 0.6:
                    mean = 2.6 + 2.2 * t["customer"] * e
                    sat = str(min(5, max(1, round(rng.gauss(mean, 0.7)))))
                due = done = ""
                if rng.random() < 0.55:
                    due_day = day + timedelta(days=rng.randint(3, 14))
                    due = f"{due_day.year}/{due_day.month}/{due_day.day}"
                    r = rng.random()
                    if r < 0.25 + 0.72 * t["diligence"] * e:
                        when = datetime.combine(due_day - timedelta(days=rng.randint(0, 2)),
                                                time(rng.randint(9, 17), 0))
                    elif r < 0.93:
                        when = datetime.combine(due_day + timedelta(days=rng.randint(2, 12)),
                                                time(rng.randint(9, 17), 0))
                    else:
                        when = None
                    done = _slash_ts(when) if when and when.date() <= END else ""
                rows.append({
                    "contact_id": f"CC{seq:07d}",
                    "manager_id": m.manager_id,
                    "client_id": client_id,
                    "client_tier": tier,
                    "occurred_at": _slash_ts(occurred),
                    "logged_at": _slash_ts(_logged(rng, m, occurred, e)),
                    "channel": channel,
                    "purpose": purpose,
                    "duration_min": str(rng.randint(5, 90)),
                    "satisfaction": sat,
                    "complaint": "1" if complaint else "0",
                    "resolved_at": resolved,
                    "follow_up_due": due,
                    "follow_up_done_at": done,
                    "checklist_complete": "1" if rng.random() < 0.45 + 0.53 * t["compliance"] * e
                    else "0",
                    "risk_flag": "1" if purpose in ("post_loan_inspection", "collection",
                                                    "risk_alert")
                    and rng.random() < 0.1 + 0.4 * t["risk"] else "0",
                    "location_verified": ("1" if rng.random() < 0.55 + 0.43 * t["diligence"] * e
                                          else "0") if channel == "visit" else "",
                    "notes": rng.choice(NOTES_CONTACT),
                })
                seq += 1
    return rows


COURSES = {  # category -> (course id, zh-TW title, has an assessment)
    "credit": ("CR101", "企業授信實務", True),
    "risk": ("RK201", "信用風險辨識與控管", True),
    "compliance": ("CP110", "洗錢防制與法令遵循", True),
    "law": ("LW120", "擔保法與民法實務", False),
    "finance": ("FN130", "財務報表分析", True),
    "economics": ("EC140", "總體經濟與利率趨勢", False),
    "management": ("MG150", "時間管理與目標設定", False),
    "marketing": ("MK160", "貸款行銷技巧", False),
    "psychology": ("PS170", "客戶心理學", False),
    "negotiation": ("NG180", "商務談判", False),
    "product": ("PD190", "新產品說明:綠色融資", True),
    "ethics": ("ET200", "金融從業人員職業道德", True),
}


def gen_learning(rng: random.Random, managers: list[Manager]) -> list[dict]:
    statements = []
    for m in managers:
        t = m.traits
        cats = rng.sample(LEARNING_CATEGORIES, 1 + round(t["learning"] * 10))
        # Everyone is required to take compliance; risk-minded people take risk courses.
        cats = list(dict.fromkeys(["compliance", *cats]))
        if t["risk"] > 0.7 and "risk" not in cats:
            cats.append("risk")
        week = START
        while week <= END:
            if week >= m.hire_date:
                e = m.effort(week)
                for _ in range(_poisson(rng, 0.25 + 3.2 * t["learning"] * e)):
                    day = week + timedelta(days=rng.randint(0, 6))
                    if day > END:
                        continue
                    off_hours = rng.random() < 0.1 + 0.75 * t["learning"]
                    if off_hours and day.weekday() < 5:
                        hour, minute = rng.randint(19, 22), rng.randrange(0, 60, 5)
                        when = datetime.combine(day, time(hour, minute))
                    elif off_hours:
                        when = datetime.combine(day, time(rng.randint(9, 20), 0))
                    else:
                        day = day - timedelta(days=max(0, day.weekday() - 4))
                        when = _work_time(rng, day)
                    cat = rng.choice(cats)
                    course, title, assessed = COURSES[cat]
                    minutes = rng.randint(15, 90)
                    if assessed and rng.random() < 0.6:
                        passed = rng.random() < 0.45 + 0.5 * t["learning"]
                        verb = "passed" if passed else "failed"
                        low, high = (0.7, 1.0) if passed else (0.3, 0.69)
                        scaled = round(rng.uniform(low, high), 2)
                    else:
                        verb, scaled = "completed", None
                    statements.append(_statement(rng, m, when, cat, course, title, verb, scaled,
                                                 minutes))
            week += timedelta(days=7)
    statements.sort(key=lambda s: s["timestamp"])
    return statements


def _statement(rng, m, when, cat, course, title, verb, scaled, minutes) -> dict:
    result: dict = {"completion": True, "duration": f"PT{minutes}M"}
    if scaled is not None:
        result |= {"success": verb == "passed", "score": {"scaled": scaled}}
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": {"objectType": "Agent", "name": m.name,
                  "account": {"homePage": LMS_HOME, "name": f"lms-{m.manager_id.lower()}"}},
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {
            "objectType": "Activity",
            "id": f"{LMS_HOME}/courses/{course}",
            "definition": {"name": {"zh-TW": title},
                           "extensions": {f"{LMS_HOME}/ext/category": cat}},
        },
        "result": result,
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:00+08:00"),
    }


TEAM_TARGET_SHARE = 1.1   # a stretch over the members' own targets: some teams reach it, some not


def gen_targets(managers: list[Manager]) -> list[tuple]:
    """Monthly targets per manager (approved loan amount, new prospects, by peer group) and per
    team (approved amount, TEAM_TARGET_SHARE of its members' targets)."""
    rows = []
    months = sorted({(d.year, d.month) for d in working_days()})
    team_amount: dict[tuple[str, str], float] = {}
    for m in managers:
        per_day, _, _, loan = PEER_SCALE[m.peer_group]
        for y, mo in months:
            period = f"{y}-{mo:02d}"
            amount = round(per_day * 21 * 0.14 * loan * 1.1, -5)
            rows.append(("manager", m.manager_id, period, "approved_amount", amount))
            rows.append(("manager", m.manager_id, period, "new_prospects",
                         round(per_day * 21 * 0.8)))
            key = (m.team_id, period)
            team_amount[key] = team_amount.get(key, 0) + amount
    for (team_id, period), amount in sorted(team_amount.items()):
        rows.append(("team", team_id, period, "approved_amount",
                     round(amount * TEAM_TARGET_SHARE, -5)))
    return rows


# --- writers: byte-identical output for the same seed --------------------------------------

def _csv_bytes(rows: list[dict], delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _write_xlsx(path: Path, header: list[str], rows: list[tuple]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "targets"
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    wb.properties.created = datetime(2026, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps zip entries with the current time; rewrite them with a fixed one.
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl sets "modified" to the save time whatever we ask for.
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z",
                              data)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME), data,
                         compress_type=zipfile.ZIP_DEFLATED)


# One confirmed misconduct case (the conduct gate's story) and one allegation never confirmed.
MISCONDUCT_SLOT, MISCONDUCT_DAY = ("T06", 3), date(2026, 9, 15)
ALLEGATION_SLOT, ALLEGATION_DAY = ("T07", 4), date(2026, 10, 7)
PORTFOLIO_KIND_LABELS = {"disbursed": "撥貸", "inspection_due": "應貸後檢查", "overdue": "逾期",
                         "npl": "轉列不良", "audit_finding": "稽核缺失", "misconduct": "違規行為"}


def gen_portfolio(rng: random.Random, managers: list[Manager], mkt: list[dict]) -> list[dict]:
    """The optional fourth feed: disbursements, overdues, audit findings, misconduct cases."""
    by_id = {m.manager_id: m for m in managers}
    slots = {(m.team_id, sum(1 for x in managers[:i] if x.team_id == m.team_id)): m
             for i, m in enumerate(managers)}
    events: list[tuple[date, str, str, str, str, str]] = []   # day, manager, kind, client, amt, ok
    for row in mkt:
        m = by_id.get(row["manager_id"])
        if m is None or row["outcome"] != "approved" or not row["amount"]:
            continue
        day = datetime.strptime(row["occurred_at"], "%Y-%m-%d %H:%M").date()
        client = f"L{row['activity_id'][2:]}"
        disbursed = day + timedelta(days=rng.randint(3, 12))
        if disbursed <= END:
            events.append((disbursed, m.manager_id, "disbursed", client, row["amount"], "Y"))
        if rng.random() < 0.04 + 0.3 * (1 - m.traits["risk"]):
            overdue = disbursed + timedelta(days=rng.randint(30, 120))
            if overdue <= END:
                events.append((overdue, m.manager_id, "overdue", client, row["amount"], "Y"))
    for m in managers:
        quarter_starts = [date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)]
        for q in quarter_starts:
            if rng.random() < 0.05 + 0.5 * (1 - m.traits["compliance"]):
                day = max(START, q + timedelta(days=rng.randint(20, 80)))
                if day <= END:
                    events.append((day, m.manager_id, "audit_finding", "", "", "Y"))
    events.append((MISCONDUCT_DAY, slots[MISCONDUCT_SLOT].manager_id, "misconduct", "", "", "Y"))
    events.append((ALLEGATION_DAY, slots[ALLEGATION_SLOT].manager_id, "misconduct", "", "", "N"))
    events.sort()
    return [{"事件編號": f"PE{i:06d}", "客戶經理工號": mid, "發生時間": f"{day.isoformat()} 09:00",
             "事件類型": PORTFOLIO_KIND_LABELS[kind], "客戶編號": client, "金額": amount,
             "已確認": "是" if ok == "Y" else "否", "備註": ""}
            for i, (day, mid, kind, client, amount, ok) in enumerate(events, start=1)]


ROSTER_FILE = "roster.csv"
TARGETS_FILE = "targets.xlsx"
MARKETING_FILE = "marketing_activity_gb18030.csv"
CONTACT_FILE = "client_contact.csv"
LEARNING_FILE = "learning_xapi.json"
PORTFOLIO_FILE = "portfolio_events.csv"
MANIFEST_FILE = "manifest.json"
# Bump when the demo's content changes (2: team targets, an opted-out top performer): `build`
# then writes the files again and loads what changed.
DEMO_VERSION = 2


def _add_bad_rows(mkt: list[dict], contacts: list[dict], statements: list[dict]) -> dict:
    """A few realistic mistakes a bank export contains; each must end in quarantine."""
    bad = dict(mkt[10], activity_id="MA900001", manager_id="RM999")          # unknown manager
    mkt.append(bad)
    mkt.append(dict(mkt[20], activity_id="MA900002", occurred_at="2026-02-30 10:00"))  # no such day
    mkt.append(dict(mkt[30], activity_id="MA900003", channel="心電感應"))     # unknown channel
    mkt.append(dict(mkt[40]))                                                 # repeated id
    contacts.append(dict(contacts[50], contact_id="CC9000001", satisfaction="9"))  # out of range
    contacts.append(dict(contacts[60], contact_id="CC9000002", manager_id=""))     # missing owner
    ghost = json.loads(json.dumps(statements[5]))
    ghost["id"] = "00000000-0000-4000-8000-000000000001"
    ghost["actor"]["account"]["name"] = "lms-nobody"                          # unknown actor
    statements.append(ghost)
    odd = json.loads(json.dumps(statements[6]))
    odd["id"] = "00000000-0000-4000-8000-000000000002"
    odd["verb"]["id"] = "http://example.com/verbs/daydreamed"                 # unknown verb
    statements.append(odd)
    return {"marketing_activity": 4, "client_contact": 2, "learning_event": 2}


def generate(out_dir: Path, seed: int = DEFAULT_SEED) -> dict:
    """Write the demo files and return the manifest (what was written, who is who)."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    managers = build_roster(rng)
    days = working_days()
    mkt = gen_marketing(rng, managers, days)
    contacts = gen_contacts(rng, managers, days)
    statements = gen_learning(rng, managers)
    # its own random stream, so adding this feed left the other files exactly as they were
    portfolio = gen_portfolio(random.Random(seed + 1), managers, mkt)
    bad = _add_bad_rows(mkt, contacts, statements)

    roster_rows = [{
        "manager_id": m.manager_id, "name": m.name, "team_id": m.team_id,
        "team_name": next(t[2] for t in TEAMS if t[0] == m.team_id),
        "branch": BRANCHES[next(t[1] for t in TEAMS if t[0] == m.team_id)],
        "peer_group": m.peer_group, "hire_date": m.hire_date.isoformat(), "active": "Y",
        "public_display": "Y" if m.public_display else "N",
        "crm_user_id": f"005{m.manager_id[2:]:0>12}", "lms_account": f"lms-{m.manager_id.lower()}",
        "email": f"{m.manager_id.lower()}@example-bank.tw",
    } for m in managers]

    # Excel's "CSV UTF-8" adds a BOM; Excel on Chinese Windows saves plain "CSV" as GB18030.
    (out_dir / ROSTER_FILE).write_bytes(_csv_bytes(roster_rows).encode("utf-8-sig"))
    (out_dir / MARKETING_FILE).write_bytes(_csv_bytes(mkt).encode("gb18030"))
    (out_dir / CONTACT_FILE).write_bytes(_csv_bytes(contacts).encode("utf-8"))
    (out_dir / LEARNING_FILE).write_text(
        json.dumps(statements, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8")
    (out_dir / PORTFOLIO_FILE).write_bytes(_csv_bytes(portfolio).encode("utf-8"))
    targets = gen_targets(managers)
    _write_xlsx(out_dir / TARGETS_FILE, ["scope", "scope_id", "period", "metric_key", "target"],
                targets)

    manifest = {
        "version": DEMO_VERSION,
        "seed": seed,
        "start": START.isoformat(),
        "end": END.isoformat(),
        "files": {
            ROSTER_FILE: {"feed": "roster", "rows": len(roster_rows), "bad_rows": 0},
            TARGETS_FILE: {"feed": "targets", "rows": len(targets), "bad_rows": 0},
            MARKETING_FILE: {"feed": "marketing_activity", "rows": len(mkt),
                             "bad_rows": bad["marketing_activity"]},
            CONTACT_FILE: {"feed": "client_contact", "rows": len(contacts),
                           "bad_rows": bad["client_contact"]},
            LEARNING_FILE: {"feed": "learning_event", "rows": len(statements),
                            "bad_rows": bad["learning_event"]},
            PORTFOLIO_FILE: {"feed": "portfolio_event", "rows": len(portfolio), "bad_rows": 0},
        },
        "misconduct": {"manager_id": next(r["客戶經理工號"] for r in portfolio
                                          if r["事件類型"] == "違規行為" and r["已確認"] == "是"),
                       "month": MISCONDUCT_DAY.strftime("%Y-%m")},
        "allegation": {"manager_id": next(r["客戶經理工號"] for r in portfolio
                                          if r["事件類型"] == "違規行為" and r["已確認"] == "否"),
                       "month": ALLEGATION_DAY.strftime("%Y-%m")},
        "managers": {m.manager_id: {"archetype": m.archetype, "team_id": m.team_id,
                                    "peer_group": m.peer_group, "star": m.star,
                                    "public_display": m.public_display} for m in managers},
        "collaborative_team": COLLABORATIVE_TEAM,
        "siloed_team": SILOED_TEAM,
    }
    (out_dir / MANIFEST_FILE).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def is_current(out_dir: Path) -> bool:
    """Demo files of this version, all present."""
    try:
        manifest = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (manifest.get("version") == DEMO_VERSION
            and all(f.exists() for f in demo_files(out_dir)))


def demo_files(out_dir: Path) -> list[Path]:
    """The input files in load order (roster first: the feeds refer to it)."""
    return [out_dir / f for f in (ROSTER_FILE, TARGETS_FILE, MARKETING_FILE, CONTACT_FILE,
                                  LEARNING_FILE, PORTFOLIO_FILE)]
