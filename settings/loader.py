"""Load config.yaml (plus secrets from the environment) and validate it.

Every problem raises :class:`ConfigError` naming the key and the reason, e.g.
``wecom.encoding_aes_key: must be 43 characters, got 12``; ``bot.py`` turns that into a message on
stderr and a non-zero exit, so a bad file stops start-up instead of failing later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from settings.model import (
    AiBotSettings,
    CalendarSettings,
    ClassifierSettings,
    GridNode,
    GroupSettings,
    ReportSettings,
    RosterEntry,
    Settings,
    SlaSettings,
    WeComSettings,
)

GRID_LEVELS = ("county", "township", "village", "grid", "micro")
ROLES = ("resident", "micro", "worker", "leader", "center", "county", "department", "admin")
TIERS = ("easy", "general", "hard")
LEVELS = ("micro", "worker", "leader", "center", "county")

# Environment variables that override config keys (secrets stay out of the file).
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("database", "url"),
    "REDIS_URL": ("redis", "url"),
    "WECOM_CORP_ID": ("wecom", "corp_id"),
    "WECOM_AGENT_ID": ("wecom", "agent_id"),
    "WECOM_SECRET": ("wecom", "secret"),
    "WECOM_TOKEN": ("wecom", "token"),
    "WECOM_AES_KEY": ("wecom", "encoding_aes_key"),
    "WECOM_API_BASE": ("wecom", "api_base"),
    "AIBOT_TOKEN": ("aibot", "token"),
    "AIBOT_AES_KEY": ("aibot", "encoding_aes_key"),
}

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")


class ConfigError(ValueError):
    """A configuration problem: ``key`` is the dotted path, ``reason`` says what is wrong."""

    def __init__(self, key: str, reason: str, source: Path | None = None) -> None:
        self.key = key
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {reason}")


class _Reader:
    """Typed access to a YAML mapping that reports the dotted key of anything wrong."""

    def __init__(self, data: Mapping[str, Any], prefix: str) -> None:
        self.data = data
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def section(self, name: str, *, required: bool = True) -> _Reader:
        value = self.data.get(name)
        if value is None:
            if required:
                raise ConfigError(self.key(name), "missing section")
            return _Reader({}, self.key(name))
        if not isinstance(value, Mapping):
            raise ConfigError(self.key(name), "must be a mapping")
        return _Reader(value, self.key(name))

    def str(self, name: str, default: str | None = None, *, required: bool = True) -> str:
        value = self.data.get(name, default)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise ConfigError(self.key(name), "missing or empty")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(self.key(name), f"must be text, got {type(value).__name__}")
        return str(value).strip()

    def int(self, name: str, default: int, *, minimum: int = 0) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(self.key(name), "must be a whole number")
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(self.key(name), f"must be a whole number, got {value!r}") from None
        if number < minimum:
            raise ConfigError(self.key(name), f"must be at least {minimum}, got {number}")
        return number

    def float(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(self.key(name), "must be a number")
        if value < minimum:
            raise ConfigError(self.key(name), f"must be at least {minimum}, got {value}")
        return float(value)

    def list(self, name: str, *, required: bool = True) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            if required:
                raise ConfigError(self.key(name), "missing list")
            return []
        if not isinstance(value, list):
            raise ConfigError(self.key(name), "must be a list")
        return value

    def hhmm(self, name: str, default: str) -> str:
        value = self.str(name, default)
        if not _HHMM.match(value):
            raise ConfigError(self.key(name), f"must be a time like 09:00, got {value!r}")
        return value


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for variable, (section, key) in ENV_OVERRIDES.items():
        value = environ.get(variable)
        if not value:
            continue
        node = raw.get(section)
        if not isinstance(node, dict):
            node = raw[section] = {}
        node[key] = value
    if environ.get("GRIDBOT_API_TOKENS"):
        api = raw.get("api") if isinstance(raw.get("api"), dict) else {}
        extra = [t.strip() for t in environ["GRIDBOT_API_TOKENS"].split(",") if t.strip()]
        api["tokens"] = list(api.get("tokens") or []) + extra
        raw["api"] = api


def _aes_key(reader: _Reader, name: str) -> str:
    value = reader.str(name)
    if not _AES_KEY.match(value):
        raise ConfigError(
            reader.key(name), f"must be 43 letters or digits (WeCom EncodingAESKey), got {len(value)}"
        )
    return value


def _walk_grids(node: Any, key: str, parent: str | None, out: list[GridNode]) -> None:
    if not isinstance(node, Mapping):
        raise ConfigError(key, "each grid must be a mapping with code, name, level")
    reader = _Reader(node, key)
    code, name, level = reader.str("code"), reader.str("name"), reader.str("level")
    if level not in GRID_LEVELS:
        raise ConfigError(reader.key("level"), f"must be one of {', '.join(GRID_LEVELS)}")
    if parent is None and level not in ("county", "township"):
        raise ConfigError(reader.key("level"), "the root of the grid tree must be county or township")
    if parent is not None:
        parent_level = next(g.level for g in out if g.code == parent)
        if GRID_LEVELS.index(level) <= GRID_LEVELS.index(parent_level):
            raise ConfigError(
                reader.key("level"), f"a {level} cannot sit below a {parent_level} ({parent})"
            )
    if any(g.code == code for g in out):
        raise ConfigError(reader.key("code"), f"duplicate grid code {code}")
    out.append(GridNode(code=code, name=name, level=level, parent=parent))
    for index, child in enumerate(reader.list("children", required=False)):
        _walk_grids(child, f"{key}.children[{index}]", code, out)


def _roster(reader: _Reader, grid_codes: set[str]) -> tuple[RosterEntry, ...]:
    entries: list[RosterEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(reader.list("roster")):
        key = f"roster[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(key, "must be a mapping with userid, name, role")
        person = _Reader(item, key)
        userid, role = person.str("userid"), person.str("role")
        if userid in seen:
            raise ConfigError(person.key("userid"), f"duplicate userid {userid}")
        seen.add(userid)
        if role not in ROLES:
            raise ConfigError(person.key("role"), f"must be one of {', '.join(ROLES)}")
        grids = person.data.get("grids", person.data.get("grid"))
        codes = [grids] if isinstance(grids, str) else list(grids or [])
        for code in codes:
            if str(code) not in grid_codes:
                raise ConfigError(person.key("grids"), f"unknown grid code {code}")
        if role not in ("admin", "department") and not codes:
            raise ConfigError(person.key("grids"), f"a {role} needs at least one grid")
        entries.append(
            RosterEntry(
                userid=userid,
                name=person.str("name"),
                role=role,
                grids=tuple(str(c) for c in codes),
                phone=person.str("phone", required=False) or None,
                department=person.str("department", required=False) or None,
            )
        )
    return tuple(entries)


def _groups(reader: _Reader, grid_codes: set[str]) -> tuple[GroupSettings, ...]:
    groups: list[GroupSettings] = []
    for index, item in enumerate(reader.list("groups", required=False)):
        key = f"groups[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(key, "must be a mapping with chat_id, name, grid")
        group = _Reader(item, key)
        grid = group.str("grid")
        if grid not in grid_codes:
            raise ConfigError(group.key("grid"), f"unknown grid code {grid}")
        groups.append(
            GroupSettings(
                chat_id=group.str("chat_id"),
                name=group.str("name"),
                grid=grid,
                webhook_key=group.str("webhook_key", required=False) or None,
                appchat=bool(group.data.get("appchat", False)),
            )
        )
    return tuple(groups)


def _sla(reader: _Reader) -> SlaSettings:
    resolve = reader.section("resolve_days", required=False)
    units = reader.section("resolve_unit", required=False)
    days = {tier: resolve.int(tier, default, minimum=1) for tier, default in
            (("easy", 5), ("general", 7), ("hard", 30))}
    unit = {}
    for tier in TIERS:
        value = units.str(tier, "working")
        if value not in ("working", "calendar"):
            raise ConfigError(units.key(tier), "must be working or calendar")
        unit[tier] = value
    levels = reader.section("first_level", required=False)
    first_level = {}
    for tier, default in (("easy", "worker"), ("general", "worker"), ("hard", "leader")):
        value = levels.str(tier, default)
        if value not in LEVELS:
            raise ConfigError(levels.key(tier), f"must be one of {', '.join(LEVELS)}")
        first_level[tier] = value
    fractions = reader.list("remind_at_fractions", required=False) or [0.5]
    for fraction in fractions:
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
            raise ConfigError(reader.key("remind_at_fractions"), "each must be between 0 and 1")
    office = reader.data.get("office_hours")
    office_hours = None
    if office:
        hours = _Reader(office, reader.key("office_hours")) if isinstance(office, Mapping) else None
        if hours is None:
            raise ConfigError(reader.key("office_hours"), "must be a mapping with start and end")
        office_hours = (hours.hhmm("start", "08:30"), hours.hhmm("end", "17:30"))
        if office_hours[0] >= office_hours[1]:
            raise ConfigError(reader.key("office_hours"), "start must be before end")
    return SlaSettings(
        dispatch_days=reader.int("dispatch_days", 1, minimum=1),
        accept_days=reader.int("accept_days", 1, minimum=1),
        resolve_days=days,
        resolve_unit=unit,
        rating_days=reader.int("rating_days", 3, minimum=1),
        first_level=first_level,
        remind_at_fractions=tuple(float(f) for f in fractions),
        remind_last_working_day=bool(reader.data.get("remind_last_working_day", True)),
        office_hours=office_hours,
    )


def _calendar(reader: _Reader) -> CalendarSettings:
    overrides: dict[str, bool] = {}
    raw = reader.data.get("overrides") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(reader.key("overrides"), "must map dates to workday/holiday")
    for day, kind in raw.items():
        key = f"{reader.key('overrides')}.{day}"
        try:
            date.fromisoformat(str(day))
        except ValueError:
            raise ConfigError(key, "must be a date like 2027-01-01") from None
        if kind not in ("workday", "holiday"):
            raise ConfigError(key, "must be workday or holiday")
        overrides[str(day)] = kind == "workday"
    tz = reader.str("timezone", "Asia/Shanghai")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise ConfigError(reader.key("timezone"), f"unknown time zone {tz!r}") from None
    return CalendarSettings(timezone=tz, overrides=overrides)


def _path(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (base / path)


def _classifier(reader: _Reader, base: Path) -> ClassifierSettings:
    rules = _path(base, reader.str("rules", "rules/categories.yaml"))
    if not rules.is_file():
        raise ConfigError(reader.key("rules"), f"file not found: {rules}")
    faq_value = reader.str("faq", required=False)
    faq = _path(base, faq_value) if faq_value else None
    if faq is not None and not faq.is_file():
        raise ConfigError(reader.key("faq"), f"file not found: {faq}")
    userdict_value = reader.str("userdict", required=False)
    userdict = _path(base, userdict_value) if userdict_value else None
    if userdict is not None and not userdict.is_file():
        raise ConfigError(reader.key("userdict"), f"file not found: {userdict}")
    return ClassifierSettings(
        rules_path=rules,
        faq_path=faq,
        userdict_path=userdict,
        threshold=reader.float("threshold", 1.0),
    )


def parse_settings(
    raw: Any, *, base_dir: Path, environ: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> Settings:
    """Validate an already-parsed YAML document and build :class:`Settings`."""
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", "config must be a YAML mapping", source)
    _apply_env(raw, os.environ if environ is None else environ)
    try:
        return _build(_Reader(raw, ""), base_dir, source)
    except ConfigError as error:
        if error.source is None and source is not None:
            raise ConfigError(error.key, error.reason, source) from None
        raise


def _build(root: _Reader, base_dir: Path, source: Path | None) -> Settings:
    wecom = root.section("wecom")
    agent_id = wecom.int("agent_id", 0, minimum=1)
    api_base = wecom.str("api_base", "https://qyapi.weixin.qq.com").rstrip("/")
    if not api_base.startswith(("http://", "https://")):
        raise ConfigError(wecom.key("api_base"), "must start with http:// or https://")
    limits = wecom.section("limits", required=False)
    wecom_settings = WeComSettings(
        corp_id=wecom.str("corp_id"),
        agent_id=agent_id,
        secret=wecom.str("secret"),
        token=wecom.str("token"),
        encoding_aes_key=_aes_key(wecom, "encoding_aes_key"),
        api_base=api_base,
        timeout_seconds=wecom.float("timeout_seconds", 5.0, minimum=0.1),
        member_per_minute=limits.int("member_per_minute", 30, minimum=1),
        member_per_hour=limits.int("member_per_hour", 1000, minimum=1),
        robot_per_minute=limits.int("robot_per_minute", 20, minimum=1),
        max_users_per_send=limits.int("max_users_per_send", 1000, minimum=1),
    )
    aibot = root.section("aibot")
    aibot_settings = AiBotSettings(
        token=aibot.str("token"),
        encoding_aes_key=_aes_key(aibot, "encoding_aes_key"),
        name=aibot.str("name", "网格通"),
    )
    database = root.section("database", required=False)
    url = database.str("url", "sqlite:///instance/gridbot.db")
    if "://" not in url:
        raise ConfigError(database.key("url"), f"not a database URL: {url!r}")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = "sqlite:///" + str(_path(base_dir, url.removeprefix("sqlite:///")))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    redis = root.section("redis", required=False)

    grids: list[GridNode] = []
    tree = root.data.get("grids")
    if tree is None:
        raise ConfigError("grids", "missing: the grid tree (county or township at the root)")
    _walk_grids(tree, "grids", None, grids)
    codes = {g.code for g in grids}
    township = root.str("township")
    center = root.str("center_grid", next(g.code for g in grids if g.level == "township"))
    if center not in codes:
        raise ConfigError("center_grid", f"unknown grid code {center}")

    api = root.section("api", required=False)
    tokens = tuple(str(t) for t in api.list("tokens", required=False) if str(t).strip())
    quiet = root.section("quiet_hours", required=False)

    return Settings(
        township=township,
        database_url=url,
        wecom=wecom_settings,
        aibot=aibot_settings,
        grids=tuple(grids),
        roster=_roster(root, codes),
        groups=_groups(root, codes),
        sla=_sla(root.section("sla", required=False)),
        calendar=_calendar(root.section("calendar", required=False)),
        classifier=_classifier(root.section("classifier", required=False), base_dir),
        redis_url=redis.str("url", required=False) or None,
        center_grid=center,
        api_tokens=tokens,
        quiet_hours=(quiet.hhmm("start", "22:00"), quiet.hhmm("end", "07:00")),
        report=ReportSettings(
            min_cases=root.section("report", required=False).int("min_cases", 5, minimum=1)),
        source_path=source,
    )


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a config file; raise :class:`ConfigError` on any problem."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("(file)", "not found", source) from None
    except UnicodeDecodeError:
        raise ConfigError("(file)", "not UTF-8 text", source) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "unknown line"
        raise ConfigError("(yaml)", f"not valid YAML at {where}: {error}", source) from None
    return parse_settings(raw, base_dir=source.resolve().parent, environ=environ, source=source)
