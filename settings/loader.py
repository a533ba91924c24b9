"""Load config.yaml (plus overrides from the environment), validate it, build :class:`Settings`.

Validation is :mod:`settings.schema`'s; every problem it finds is reported in one
:class:`ConfigError`, each naming the key and the reason, e.g.
``wecom.encoding_aes_key: must be 43 letters or digits (WeCom EncodingAESKey), got 12``.
``bot.py`` prints them on stderr and exits 2, so a bad file stops start-up instead of failing later.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from settings.environment import ENV_OVERRIDES, Environment
from settings.errors import ConfigError, problems_of
from settings.fields import resolve_file, resolve_path
from settings.model import (
    AiBotSettings,
    CalendarSettings,
    ClassifierSettings,
    ConsoleSettings,
    ConversationSettings,
    GridNode,
    GroupSettings,
    ReportSettings,
    RosterEntry,
    ServerSettings,
    Settings,
    SlaSettings,
    SourceSettings,
    WeComSettings,
)
from settings.schema import GRID_LEVELS, LEVELS, ROLES, ConfigDocument, SlaSection, WeComSection

# libyaml's safe loader where PyYAML was built with it: a county's roster (20,000 people) is
# read several times faster than by the pure-Python one; the same YAML, types and error marks.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The vocabularies and overrides are defined beside the schema; they stay importable from here.
__all__ = ["ENV_OVERRIDES", "GRID_LEVELS", "LEVELS", "ROLES", "ConfigError", "load_settings",
           "parse_settings"]


def parse_settings(
    raw: Any, *, base_dir: Path, environ: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> Settings:
    """Validate an already-parsed YAML document and build :class:`Settings`.

    ``environ`` stands in for the process environment (``{}`` ignores it).
    """
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", "config must be a YAML mapping", source)
    document = Environment.read(environ).apply(raw)
    try:
        config = ConfigDocument.model_validate(document, context={"base_dir": base_dir})
    except ValidationError as error:
        raise ConfigError.of(problems_of(error, ConfigDocument), source) from None
    return _settings(config, base_dir, source)


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
        raw = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "unknown line"
        raise ConfigError("(yaml)", f"not valid YAML at {where}: {error}", source) from None
    return parse_settings(raw, base_dir=source.resolve().parent, environ=environ, source=source)


def _settings(config: ConfigDocument, base_dir: Path, source: Path | None) -> Settings:
    classifier = config.classifier
    return Settings(
        township=config.township,
        database_url=_database_url(config.database.url, base_dir),
        wecom=_wecom(config.wecom),
        aibot=AiBotSettings(token=config.aibot.token,
                            encoding_aes_key=config.aibot.encoding_aes_key, name=config.aibot.name),
        grids=tuple(GridNode(code=node.code, name=node.name, level=node.level,
                             parent=None if parent is None else parent.code)
                    for _, node, parent in config.grids.walk()),
        roster=tuple(RosterEntry(userid=p.userid, name=p.name, role=p.role, grids=p.grids,
                                 phone=p.phone, department=p.department) for p in config.roster),
        groups=tuple(GroupSettings(chat_id=g.chat_id, name=g.name, grid=g.grid,
                                   webhook_key=g.webhook_key, appchat=g.appchat)
                     for g in config.groups),
        sla=_sla(config.sla),
        calendar=CalendarSettings(
            timezone=config.calendar.timezone,
            overrides={day: kind == "workday" for day, kind in config.calendar.overrides.items()}),
        classifier=ClassifierSettings(
            rules_path=resolve_file(base_dir, classifier.rules),
            faq_path=resolve_file(base_dir, classifier.faq) if classifier.faq else None,
            userdict_path=(resolve_file(base_dir, classifier.userdict) if classifier.userdict
                           else None),
            threshold=classifier.threshold),
        redis_url=config.redis.url,
        center_grid=config.center_grid or "",
        api_tokens=tuple(token for token in config.api.tokens if token),
        api_rate_limit=config.api.rate_limit_per_minute,
        quiet_hours=(config.quiet_hours.start, config.quiet_hours.end),
        report=ReportSettings(min_cases=config.report.min_cases),
        conversation=ConversationSettings(
            rating_prompt_days=config.conversation.rating_prompt_days,
            choice_prompt_hours=config.conversation.choice_prompt_hours),
        console=ConsoleSettings(
            secret_key=config.console.secret_key or None,
            session_hours=config.console.session_hours,
            secure_cookies=config.console.secure_cookies),
        server=ServerSettings(**config.server.model_dump()),
        source_path=source,
    )


def _database_url(url: str, base_dir: Path) -> str:
    """A relative SQLite path is relative to the config file; ``postgresql://`` uses psycopg 3."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + str(resolve_path(base_dir, url.removeprefix("sqlite:///")))
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _wecom(wecom: WeComSection) -> WeComSettings:
    limits = wecom.limits
    return WeComSettings(
        corp_id=wecom.corp_id,
        agent_id=wecom.agent_id,
        secret=wecom.secret,
        token=wecom.token,
        encoding_aes_key=wecom.encoding_aes_key,
        api_base=wecom.api_base,
        timeout_seconds=wecom.timeout_seconds,
        duplicate_check_seconds=wecom.duplicate_check_seconds,
        member_per_minute=limits.member_per_minute,
        member_per_hour=limits.member_per_hour,
        robot_per_minute=limits.robot_per_minute,
        max_users_per_send=limits.max_users_per_send,
    )


def _sla(sla: SlaSection) -> SlaSettings:
    return SlaSettings(
        dispatch_days=sla.dispatch_days,
        accept_days=sla.accept_days,
        resolve_days=sla.resolve_days.model_dump(),
        resolve_unit=sla.resolve_unit.model_dump(),
        rating_days=sla.rating_days,
        first_level=sla.first_level.model_dump(),
        remind_at_fractions=sla.remind_at_fractions,
        remind_last_working_day=sla.remind_last_working_day,
        sources={key: SourceSettings(src.name, src.resolve_days, src.resolve_unit)
                 for key, src in sla.sources.items()},
        office_hours=(None if sla.office_hours is None
                      else (sla.office_hours.start, sla.office_hours.end)),
    )
