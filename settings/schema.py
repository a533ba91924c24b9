"""config.yaml as written, as pydantic models: its keys, their types and every rule between them.

Each section forbids keys it does not know, so a misspelling is an error rather than a default
silently used. Checks that relate one part of the file to another (a roster entry's grids exist,
a child grid sits below its parent) are validators of the field that holds the references, so
they still run when some other section is broken and every problem is reported in one run.
Such a check raises :class:`Problems`, which names each offending key below its field.

The loader (``settings.loader``) turns a valid document into the typed ``Settings`` objects the
rest of GridBot reads; ``config_schema()`` is the JSON schema editors use to check the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from settings.environment import ENV_OVERRIDES
from settings.fields import (
    AesKey,
    Clock,
    Count,
    ExistingFile,
    IsoDate,
    Number,
    OptionalFile,
    OptionalText,
    Text,
    TimeZone,
    one_of,
)
from vocab import PERSON_ROLES, GridLevel, Level, Role

# The closed vocabularies config.yaml uses, as defined once in ``vocab`` (plain strings here).
GRID_LEVELS: tuple[str, ...] = tuple(level.value for level in GridLevel)
ROLES: tuple[str, ...] = tuple(role.value for role in PERSON_ROLES)
ROLES_WITHOUT_GRID: tuple[str, ...] = (Role.ADMIN.value, Role.DEPARTMENT.value)
LEVELS: tuple[str, ...] = tuple(level.value for level in Level)

KeyPath = tuple[str | int, ...]


class Problems(ValueError):
    """Several problems found by one cross-reference check, each at a key below the field."""

    def __init__(self, problems: Iterable[tuple[KeyPath, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(reason for _, reason in self.problems))


def _raise_any(problems: Iterator[tuple[KeyPath, str]]) -> None:
    found = list(problems)
    if found:
        raise Problems(found)


class Section(BaseModel):
    """A mapping of config.yaml: unknown keys are errors, values are immutable once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_means_default(cls, data: Any) -> Any:
        """``key:`` with no value in YAML leaves an optional key at its default."""
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {key: value for key, value in data.items()
                if value is not None or key not in fields or fields[key].is_required()}


class WeComLimits(Section):
    """WeCom's own caps; the sender stays under them instead of having messages dropped."""

    member_per_minute: Count = 30
    member_per_hour: Count = 1000
    robot_per_minute: Count = 20
    max_users_per_send: Count = 1000


class WeComSection(Section):
    """The self-built app (自建应用): 1:1 messages in, every kind of message out."""

    corp_id: Text
    """企业ID (CorpID)."""
    agent_id: Count
    """the app's AgentId."""
    secret: Text
    """the app's Secret."""
    token: Text
    encoding_aes_key: AesKey
    api_base: Text = "https://qyapi.weixin.qq.com"
    """`demo` points this at the built-in simulator."""
    timeout_seconds: Annotated[Number, Field(ge=0.1)] = 5.0
    """the timeout of every HTTP call to WeCom."""
    duplicate_check_seconds: Annotated[int, Field(ge=0, le=14400)] = 1800
    """app messages ask WeCom to drop a repeat of the same request within this many seconds
    (message/send's enable_duplicate_check; WeCom allows up to 4 hours): a message re-sent after
    a crash is not shown twice. 0: no such check."""
    limits: WeComLimits = WeComLimits()

    @field_validator("api_base")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class AiBotSection(Section):
    """The smart bot (智能机器人): group @-mentions, JSON callback."""

    token: Text
    encoding_aes_key: AesKey
    name: Text = "网格通"


class DatabaseSection(Section):
    """SQLite (a path relative to this file) or PostgreSQL."""

    url: Text = "sqlite:///instance/gridbot.db"
    """e.g. postgresql+psycopg://gridbot@db/gridbot; a relative SQLite path is relative to this file."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"not a database URL: {value!r}")
        return value


class RedisSection(Section):
    """Optional: shares the access token between processes (else the database does)."""

    url: OptionalText = None


class ClassifierSection(Section):
    """The keyword rules, the FAQ and jieba's user dictionary: paths relative to this file; the
    sample's paths fall back to the files GridBot ships when there is no copy beside it."""

    rules: ExistingFile = "rules/categories.yaml"
    """categories, keywords, urgency and chatter words."""
    faq: OptionalFile = None
    """common policy questions answered in chat."""
    userdict: OptionalFile = None
    """jieba's user dictionary: 下水道, 化粪池, 飞线充电 …"""
    threshold: Annotated[Number, Field(ge=0.0)] = 1.0
    """the score a category needs before a message is filed under it."""


class GridSpec(Section):
    """One node of the grid tree (统一编码) and the nodes below it."""

    code: Text
    """the unified code (统一编码), unique in the tree."""
    name: Text
    level: one_of(*GRID_LEVELS)  # type: ignore[valid-type]
    children: tuple[GridSpec, ...] = ()

    def walk(self, path: KeyPath = ()) -> Iterator[tuple[KeyPath, GridSpec, GridSpec | None]]:
        """Every node with its path below ``grids`` and its parent, parents first."""
        yield path, self, None
        for index, child in enumerate(self.children):
            for sub_path, node, parent in child.walk((*path, "children", index)):
                yield sub_path, node, self if parent is None else parent


def _one_grid_key(schema: dict[str, Any]) -> None:
    """``grid: CODE`` is accepted for ``grids: [CODE]``: the editor's schema lists it too."""
    schema["properties"]["grid"] = {"type": "string",
                                    "description": "one grid code: the same as grids: [code]"}


class PersonSpec(Section):
    """A person the township knows: staff with their duties, residents with their grid."""

    model_config = ConfigDict(json_schema_extra=_one_grid_key)

    userid: Text = Field(description="the WeCom account id (通讯录 账号)")
    name: Text
    role: one_of(*ROLES)  # type: ignore[valid-type]
    grids: Annotated[tuple[Text, ...], WithJsonSchema({
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "the grid codes this person serves or lives in"})] = Field(
        (), validation_alias=AliasChoices("grids", "grid"))
    phone: OptionalText = None
    department: OptionalText = None

    @field_validator("grids", mode="before")
    @classmethod
    def _one_grid(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int) else value or ()


class GroupSpec(Section):
    """A group chat and the grid it serves; ``webhook_key`` is its robot (消息推送)."""

    chat_id: Text
    name: Text
    grid: Text
    webhook_key: OptionalText = None
    """the key of the group's robot (消息推送) for broadcasts."""
    appchat: bool = False


class TierDays(Section):
    easy: Count = 5
    general: Count = 7
    hard: Count = 30


_Unit = one_of("working", "calendar")


class TierUnits(Section):
    easy: _Unit = "working"  # type: ignore[valid-type]
    general: _Unit = "working"  # type: ignore[valid-type]
    hard: _Unit = "working"  # type: ignore[valid-type]


_Level = one_of(*LEVELS)


class TierLevels(Section):
    """小事微网格员办、大事网格员办、难事网格长办: where a new ticket of each tier starts."""

    easy: _Level = "worker"  # type: ignore[valid-type]
    general: _Level = "worker"  # type: ignore[valid-type]
    hard: _Level = "leader"  # type: ignore[valid-type]


class OfficeHours(Section):
    """The working hours within a working day that deadlines count."""

    start: Clock = "08:30"
    end: Clock = "17:30"

    @model_validator(mode="after")
    def _ordered(self) -> OfficeHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


def _fraction(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError("must be between 0 and 1")
    return value


class SourceSla(Section):
    """An outside system that hands in orders (工单) through the API, and its own deadline."""

    name: Text
    """what staff see as the order's source (12345热线)."""
    resolve_days: Count = 7
    """办结: days from acceptance (or dispatch) to resolution for this source's orders."""
    resolve_unit: _Unit = "working"  # type: ignore[valid-type]


def _source_names(value: dict[str, SourceSla]) -> dict[str, SourceSla]:
    for key in value:
        if not _SOURCE_NAME.fullmatch(key):
            raise ValueError(f"source {key!r}: 1–32 letters, digits, '-' or '_'")
    return value


_SOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


class SlaSection(Section):
    """六单 deadlines, in working days (Chinese calendar) unless resolve_unit says calendar."""

    dispatch_days: Count = 1
    """派单: days from report to dispatch."""
    accept_days: Count = 1
    """接单: days from dispatch to acceptance."""
    resolve_days: TierDays = TierDays()
    resolve_unit: TierUnits = TierUnits()
    rating_days: Count = 3
    """评单: days the reporter has to rate the resolution."""
    first_level: TierLevels = TierLevels()
    remind_at_fractions: tuple[Annotated[Number, AfterValidator(_fraction)], ...] = (0.5,)
    """remind the assignee when these fractions of a deadline have passed."""
    remind_last_working_day: bool = True
    """also remind on the last working day before a deadline."""
    office_hours: OfficeHours | None = None
    """deadlines fall within these hours when set."""
    sources: Annotated[dict[str, SourceSla], AfterValidator(_source_names)] = {
        "12345": SourceSla(name="12345热线", resolve_days=7)}
    """orders from outside systems (the API's ``source``): their name and 办结 deadline."""

    @field_validator("remind_at_fractions", mode="before")
    @classmethod
    def _default_fractions(cls, value: Any) -> Any:
        return value or (0.5,)

    @field_validator("office_hours", mode="before")
    @classmethod
    def _no_office_hours(cls, value: Any) -> Any:
        return value or None


class CalendarSection(Section):
    """Working days: chinesecalendar plus dates it does not know yet, or local changes."""

    timezone: TimeZone = "Asia/Shanghai"
    overrides: dict[IsoDate, one_of("workday", "holiday")] = {}  # type: ignore[valid-type]


class QuietHours(Section):
    """Notices that are not urgent wait out these hours (the span may cross midnight)."""

    start: Clock = "22:00"
    end: Clock = "07:00"


class ReportSection(Section):
    """考单: grids and workers with fewer tickets in the period are listed but not ranked."""

    min_cases: Count = 5


class ConversationSection(Section):
    """Questions the bot waits an answer to (pending prompts)."""

    rating_prompt_days: Count = 7
    """after 办结: days a reply such as "还行吧" or "3 师傅没来" is read as the rating."""
    choice_prompt_hours: Count = 24
    """hours "which ticket did you mean?" waits for the ticket number."""


class ServerSection(Section):
    """`serve`'s web server (waitress): how many connections it holds and how long an idle one
    lives. Idle and half-sent connections cost no request thread, only a socket; the defaults
    keep callbacks answered within WeCom's 5 s while hundreds of them are open."""

    threads: Count | None = None
    """request threads (`serve --threads` overrides): each callback waits for its commit.
    Default: 8 on PostgreSQL; 32 on SQLite, where callbacks also wait for their turn at the one
    writer and more of them share each commit."""
    connection_limit: Count = 1000
    """open connections (idle, half-sent or working) before new ones wait in the backlog."""
    channel_timeout_seconds: Count = 10
    """a connection with no activity for this long is closed (idle keep-alive, stalled request);
    keep it above nginx's upstream keepalive_timeout."""
    cleanup_interval_seconds: Count = 2
    """how often idle connections are looked for."""
    backlog: Count = 1024
    """connections the kernel queues while none is accepted (listen(2))."""
    request_nice: Annotated[int, Field(ge=0, le=19)] = 5
    """CPU niceness of the request threads above `serve`'s router process: in a flood the
    routing (the tickets residents wait for) keeps its share of the cores, and answering WeCom
    (a fraction of a millisecond of CPU) still gets the rest. 0: equal shares. PostgreSQL only
    (on SQLite the writers take turns at the database file instead)."""


class ApiSection(Section):
    """The JSON API: legacy bearer tokens (every scope; prefer ``bot.py api-token add``, or
    GRIDBOT_API_TOKENS in the environment) and each token's request budget."""

    tokens: tuple[OptionalText, ...] = ()
    rate_limit_per_minute: Count = 120
    """requests per token per minute (a token may have its own); more are answered 429."""


class ConsoleSection(Section):
    """The 综治中心's web console (/console): its session key and how long a sign-in lasts."""

    secret_key: OptionalText = None
    """signs the console's session cookies; prefer SECRET_KEY in the environment. Without one
    the console is closed (the demo makes one up)."""
    session_hours: Count = 12
    """a sign-in lasts this many hours."""
    secure_cookies: bool = True
    """send the session cookie over HTTPS only (turn off only for a local trial over HTTP)."""


class ConfigDocument(Section):
    """config.yaml: the township, its grid tree, its people and chats, its clocks and WeCom."""

    model_config = ConfigDict(title="GridBot config.yaml")

    township: Text
    database: DatabaseSection = DatabaseSection()
    redis: RedisSection = RedisSection()
    wecom: WeComSection
    aibot: AiBotSection
    classifier: ClassifierSection = ClassifierSection()
    grids: GridSpec = Field(description="the grid tree, county or township at the root")
    center_grid: OptionalText = Field(
        None, validate_default=True,
        description="the township node whose centre staff triage unplaced tickets "
                    "(default: the first township of the tree)")
    roster: tuple[PersonSpec, ...]
    groups: tuple[GroupSpec, ...] = ()
    sla: SlaSection = SlaSection()
    calendar: CalendarSection = CalendarSection()
    quiet_hours: QuietHours = QuietHours()
    report: ReportSection = ReportSection()
    conversation: ConversationSection = ConversationSection()
    api: ApiSection = ApiSection()
    console: ConsoleSection = ConsoleSection()
    server: ServerSection = ServerSection()

    @field_validator("grids")
    @classmethod
    def _tree(cls, root: GridSpec) -> GridSpec:
        _raise_any(_tree_problems(root))
        return root

    @field_validator("center_grid")
    @classmethod
    def _center(cls, value: str | None, info: ValidationInfo) -> str | None:
        tree: GridSpec | None = info.data.get("grids")
        if tree is None:
            return value
        if value is None:
            townships = [node.code for _, node, _ in tree.walk() if node.level == "township"]
            if not townships:
                raise ValueError("missing: the grid tree has no township to default to")
            return townships[0]
        if value not in {node.code for _, node, _ in tree.walk()}:
            raise ValueError(f"unknown grid code {value}")
        return value

    @field_validator("roster")
    @classmethod
    def _people(cls, roster: tuple[PersonSpec, ...], info: ValidationInfo) -> tuple[PersonSpec, ...]:
        _raise_any(_roster_problems(roster, _grid_codes(info)))
        return roster

    @field_validator("groups")
    @classmethod
    def _chats(cls, groups: tuple[GroupSpec, ...], info: ValidationInfo) -> tuple[GroupSpec, ...]:
        codes = _grid_codes(info)
        if codes is not None:
            _raise_any(((index, "grid"), f"unknown grid code {group.grid}")
                       for index, group in enumerate(groups) if group.grid not in codes)
        return groups


def _grid_codes(info: ValidationInfo) -> set[str] | None:
    """The codes of the grid tree, or None when the tree itself is invalid (checked there)."""
    tree = info.data.get("grids")
    return None if tree is None else {node.code for _, node, _ in tree.walk()}


def _tree_problems(root: GridSpec) -> Iterator[tuple[KeyPath, str]]:
    if root.level not in ("county", "township"):
        yield ("level",), "the root of the grid tree must be county or township"
    seen: set[str] = set()
    for path, node, parent in root.walk():
        if parent is not None and GRID_LEVELS.index(node.level) <= GRID_LEVELS.index(parent.level):
            yield (*path, "level"), (f"a {node.level} cannot sit below a {parent.level} "
                                     f"({parent.code})")
        if node.code in seen:
            yield (*path, "code"), f"duplicate grid code {node.code}"
        seen.add(node.code)


def _roster_problems(
    roster: tuple[PersonSpec, ...], codes: set[str] | None
) -> Iterator[tuple[KeyPath, str]]:
    seen: set[str] = set()
    for index, person in enumerate(roster):
        if person.userid in seen:
            yield (index, "userid"), f"duplicate userid {person.userid}"
        seen.add(person.userid)
        for code in person.grids:
            if codes is not None and code not in codes:
                yield (index, "grids"), f"unknown grid code {code}"
        if person.role not in ROLES_WITHOUT_GRID and not person.grids:
            yield (index, "grids"), f"a {person.role} needs at least one grid"


def config_schema() -> dict[str, Any]:
    """The JSON schema of config.yaml, for editors (e.g. yaml-language-server)."""
    schema = ConfigDocument.model_json_schema()
    for variable, (section, key) in ENV_OVERRIDES.items():
        definition = schema["$defs"][ConfigDocument.model_fields[section].annotation.__name__]
        field = definition["properties"][key]
        note = f"The environment variable {variable} wins over this value."
        field["description"] = f"{field['description']} {note}" if "description" in field else note
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
