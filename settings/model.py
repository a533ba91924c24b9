"""The shape of config.yaml, as typed, immutable settings objects.

The loader (``settings.loader``) fills these from YAML plus the environment once the file has
passed its schema (``settings.schema``); everything else in GridBot reads settings only through
these objects. They are plain frozen dataclasses, so code and tests derive variants with
``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class WeComSettings:
    """The self-built app (自建应用): sending, and its XML callback."""

    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str
    api_base: str = "https://qyapi.weixin.qq.com"
    timeout_seconds: float = 5.0
    # message/send's duplicate_check_interval (0: no enable_duplicate_check), see schedules.delivery
    duplicate_check_seconds: int = 1800
    # WeCom's limits, which the sender respects instead of having messages dropped silently.
    member_per_minute: int = 30
    member_per_hour: int = 1000
    robot_per_minute: int = 20
    max_users_per_send: int = 1000


@dataclass(frozen=True)
class AiBotSettings:
    """The smart bot (智能机器人): group @-mentions and 1:1 chats, JSON callback."""

    token: str
    encoding_aes_key: str
    name: str = "网格通"


@dataclass(frozen=True)
class GridNode:
    """One node of the grid tree as configured."""

    code: str
    name: str
    level: str  # county|township|village|grid|micro
    parent: str | None


@dataclass(frozen=True)
class RosterEntry:
    """A person the township knows: staff with their duties, residents with their grid."""

    userid: str
    name: str
    role: str  # resident|micro|worker|leader|center|department|admin
    grids: tuple[str, ...] = ()
    phone: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class GroupSettings:
    """A group chat mapped to a grid, with its optional robot webhook key."""

    chat_id: str
    name: str
    grid: str
    webhook_key: str | None = None
    appchat: bool = False


@dataclass(frozen=True)
class SourceSettings:
    """An outside system handing in orders (工单) by the API: its name and 办结 deadline."""

    name: str
    resolve_days: int = 7
    resolve_unit: str = "working"


def _default_sources() -> dict[str, SourceSettings]:
    # 盐池县: "对'12345'平台工单和一般纠纷在7日内办结"
    return {"12345": SourceSettings("12345热线", 7, "working")}


@dataclass(frozen=True)
class SlaSettings:
    """Deadlines of the 六单 stages; units are working days unless a tier says calendar."""

    dispatch_days: int = 1
    accept_days: int = 1
    resolve_days: dict[str, int] = field(
        default_factory=lambda: {"easy": 5, "general": 7, "hard": 30}
    )
    resolve_unit: dict[str, str] = field(
        default_factory=lambda: {"easy": "working", "general": "working", "hard": "working"}
    )
    rating_days: int = 3
    # 小事微网格员办、大事网格员办、难事网格长办: the level a new ticket of each tier starts at.
    first_level: dict[str, str] = field(
        default_factory=lambda: {"easy": "worker", "general": "worker", "hard": "leader"}
    )
    remind_at_fractions: tuple[float, ...] = (0.5,)
    remind_last_working_day: bool = True
    office_hours: tuple[str, str] | None = None  # ("08:30", "17:30")
    # orders from outside systems, by the API's ``source``: name and 办结 deadline
    sources: dict[str, SourceSettings] = field(default_factory=_default_sources)


@dataclass(frozen=True)
class CalendarSettings:
    """Working days: chinesecalendar plus per-date overrides (True = working day)."""

    timezone: str = "Asia/Shanghai"
    overrides: dict[str, bool] = field(default_factory=dict)  # "2027-01-01": False


@dataclass(frozen=True)
class ClassifierSettings:
    """Where the keyword rules and the FAQ live, and how sure the classifier must be."""

    rules_path: Path
    faq_path: Path | None = None
    userdict_path: Path | None = None
    threshold: float = 1.0


@dataclass(frozen=True)
class ReportSettings:
    """考单 reports: rows with fewer cases than ``min_cases`` are shown but never ranked."""

    min_cases: int = 5


@dataclass(frozen=True)
class ConversationSettings:
    """How long the bot waits for an answer to a question it asked someone (pending prompts)."""

    rating_prompt_days: int = 7  # after 办结: a reply such as "还行吧" is read as the rating
    choice_prompt_hours: int = 24  # after "which ticket did you mean?"


@dataclass(frozen=True)
class ConsoleSettings:
    """The web console: the key that signs its sessions (None: closed), their lifetime, and
    whether the cookie is sent over HTTPS only."""

    secret_key: str | None = None
    session_hours: int = 12
    secure_cookies: bool = True


@dataclass(frozen=True)
class ServerSettings:
    """`serve`'s waitress: threads, and the connections it holds (idle ones closed in time)."""

    threads: int | None = None  # None: 8 on PostgreSQL, 32 on SQLite (for_database)
    connection_limit: int = 1000
    channel_timeout_seconds: int = 10
    cleanup_interval_seconds: int = 2
    backlog: int = 1024
    request_nice: int = 5  # CPU niceness of the request threads above the router process


@dataclass(frozen=True)
class Settings:
    """Everything GridBot is configured with."""

    township: str
    database_url: str
    wecom: WeComSettings
    aibot: AiBotSettings
    grids: tuple[GridNode, ...]
    roster: tuple[RosterEntry, ...]
    groups: tuple[GroupSettings, ...]
    sla: SlaSettings
    calendar: CalendarSettings
    classifier: ClassifierSettings
    redis_url: str | None = None
    center_grid: str = ""  # the township node whose centre staff triage unplaced tickets
    api_tokens: tuple[str, ...] = ()  # legacy tokens from config/environment: every scope
    api_rate_limit: int = 120  # requests per token per minute
    quiet_hours: tuple[str, str] = ("22:00", "07:00")
    report: ReportSettings = field(default_factory=ReportSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    source_path: Path | None = None
