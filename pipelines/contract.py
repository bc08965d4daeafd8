"""The canonical feed contract: columns, types, allowed values and natural keys of every feed."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"            # text | timestamp | date | bool | number | int | month
    required: bool = False
    enum: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    pseudonymise: bool = False    # client identifiers: keyed hash on the way in
    default: bool | None = None   # value for a missing boolean (exports often leave them blank)
    future_ok: bool = False       # a date that may lie ahead (a due date), unlike a log time
    free_text: bool = False       # stored as written: not trimmed, not matched against anything


@dataclass(frozen=True)
class Feed:
    name: str
    table: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    has_manager: bool = True      # rows must name a manager in the roster
    time_column: str | None = "occurred_at"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


PEER_GROUPS = ("corporate", "retail", "sme")
ACTIVITY_TYPES = ("visit", "call", "event", "campaign", "referral", "market_research")
MARKETING_CHANNELS = ("supply_chain", "wholesale_market", "industrial_park_gov", "association",
                      "intermediary", "referral", "walk_in", "online", "other")
OUTCOMES = ("none", "lead", "application", "approved", "lost")
CONTACT_CHANNELS = ("visit", "phone", "wechat", "email", "video", "branch")
PURPOSES = ("service", "follow_up", "post_loan_inspection", "complaint", "renewal", "collection",
            "risk_alert")
LEARNING_CATEGORIES = ("credit", "risk", "compliance", "law", "finance", "economics", "management",
                       "marketing", "psychology", "negotiation", "product", "ethics")
LEARNING_VERBS = ("completed", "passed", "failed", "attempted", "experienced", "waived")
PORTFOLIO_KINDS = ("disbursed", "inspection_due", "inspection_done", "overdue", "npl",
                   "audit_finding", "misconduct")

FEEDS: dict[str, Feed] = {f.name: f for f in (
    Feed("roster", "roster", ("manager_id",), (
        Column("manager_id", required=True),
        Column("name", required=True),
        Column("team_id", required=True),
        Column("team_name", required=True),
        Column("branch", required=True),
        Column("peer_group", required=True, enum=PEER_GROUPS),
        Column("hire_date", "date", future_ok=True),   # people who start next month
        Column("active", "bool", default=True),
        Column("public_display", "bool", default=True),
        Column("crm_user_id"),
        Column("lms_account"),
        Column("email"),
    ), has_manager=False, time_column=None),
    Feed("targets", "targets", ("scope", "scope_id", "period", "metric_key"), (
        Column("scope", required=True, enum=("manager", "team")),
        Column("scope_id", required=True),
        Column("period", "month", required=True),
        Column("metric_key", required=True),
        Column("target", "number", required=True, min=0),
    ), has_manager=False, time_column=None),
    Feed("marketing_activity", "marketing_activity", ("activity_id",), (
        Column("activity_id", required=True),
        Column("manager_id", required=True),
        Column("occurred_at", "timestamp", required=True),
        Column("logged_at", "timestamp"),
        Column("type", required=True, enum=ACTIVITY_TYPES),
        Column("channel", required=True, enum=MARKETING_CHANNELS),
        Column("proactive", "bool", required=True),
        Column("prospect_id", pseudonymise=True),
        Column("industry"),
        Column("outcome", required=True, enum=OUTCOMES),
        Column("amount", "number", min=0),
        Column("co_manager_ids"),
        Column("notes", free_text=True),
    )),
    Feed("client_contact", "client_contact", ("contact_id",), (
        Column("contact_id", required=True),
        Column("manager_id", required=True),
        Column("client_id", required=True, pseudonymise=True),
        Column("client_tier"),
        Column("occurred_at", "timestamp", required=True),
        Column("logged_at", "timestamp"),
        Column("channel", required=True, enum=CONTACT_CHANNELS),
        Column("purpose", required=True, enum=PURPOSES),
        Column("duration_min", "number", min=0, max=24 * 60),
        Column("satisfaction", "int", min=1, max=5),
        Column("complaint", "bool", default=False),
        Column("resolved_at", "timestamp"),
        Column("follow_up_due", "date", future_ok=True),
        Column("follow_up_done_at", "timestamp"),
        Column("checklist_complete", "bool"),
        Column("risk_flag", "bool", default=False),
        Column("location_verified", "bool"),
        Column("notes", free_text=True),
    )),
    Feed("learning_event", "learning_event", ("event_id",), (
        Column("event_id", required=True),
        Column("manager_id", required=True),
        Column("occurred_at", "timestamp", required=True),
        Column("course_id"),
        Column("title", free_text=True),
        Column("category", required=True, enum=LEARNING_CATEGORIES),
        Column("verb", required=True, enum=LEARNING_VERBS),
        Column("score_scaled", "number", min=0, max=1),
        Column("duration_min", "number", min=0, max=24 * 60),
        Column("certification"),
    )),
    Feed("portfolio_event", "portfolio_event", ("event_id",), (
        Column("event_id", required=True),
        Column("manager_id", required=True),
        Column("occurred_at", "timestamp", required=True),
        Column("kind", required=True, enum=PORTFOLIO_KINDS),
        Column("client_id", pseudonymise=True),
        Column("amount", "number", min=0),
        Column("confirmed", "bool", default=True),
        Column("notes", free_text=True),
    )),
)}

# Bank-local time: every timestamp in the warehouse is local wall-clock time in this zone.
LOCAL_TIMEZONE = "Asia/Taipei"

# Booleans as bank exports write them.
TRUE_WORDS = ("1", "y", "yes", "true", "t", "是", "有", "v", "✓")
FALSE_WORDS = ("0", "n", "no", "false", "f", "否", "無", "")
TIMESTAMP_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                     "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]

# The ten awareness dimensions, in the order the article names them. Labels live in the
# dashboard's i18n catalogue.
DIMENSIONS = ("integrity", "market", "customer", "marketing", "teamwork", "goals", "risk",
              "compliance", "responsibility", "learning")
GRAINS = ("week", "month", "quarter")
