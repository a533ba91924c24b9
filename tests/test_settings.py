"""config.yaml validation: every problem names the key and the reason; bot.py exits 2 on it."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settings import ConfigError, load_settings, parse_settings
from tests.conftest import CONFIG, ROOT

RAW = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def build(mutate, environ=None):
    raw = copy.deepcopy(RAW)
    mutate(raw)
    return parse_settings(raw, base_dir=ROOT, environ=environ or {})


def test_the_sample_township_loads():
    settings = load_settings(CONFIG, environ={})
    assert settings.township == "东顺街道"
    assert [g.level for g in settings.grids].count("grid") == 4
    assert {g.level for g in settings.grids} == {"county", "township", "village", "grid", "micro"}
    assert settings.center_grid == "640323001"
    assert {p.role for p in settings.roster} >= {"resident", "worker", "leader", "center", "micro"}
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith(
        "instance/gridbot.db")
    assert settings.sla.resolve_days == {"easy": 5, "general": 7, "hard": 30}


@pytest.mark.parametrize(
    ("mutate", "key", "reason"),
    [
        (lambda r: r["wecom"].update(encoding_aes_key="short"), "wecom.encoding_aes_key",
         "must be 43 letters or digits"),
        (lambda r: r["wecom"].pop("corp_id"), "wecom.corp_id", "missing"),
        (lambda r: r["wecom"].update(agent_id="abc"), "wecom.agent_id", "whole number"),
        (lambda r: r["wecom"].update(api_base="qyapi.weixin.qq.com"), "wecom.api_base",
         "must start with http"),
        (lambda r: r.pop("aibot"), "aibot", "missing section"),
        (lambda r: r["database"].update(url="nonsense"), "database.url", "not a database URL"),
        (lambda r: r["roster"][4].update(role="boss"), "roster[4].role", "must be one of"),
        (lambda r: r["roster"][4].update(grids=["999"]), "roster[4].grids", "unknown grid code 999"),
        (lambda r: r["roster"].append(dict(r["roster"][0])), "roster[16].userid", "duplicate"),
        (lambda r: r["groups"][0].update(grid="nowhere"), "groups[0].grid", "unknown grid code"),
        (lambda r: r["grids"]["children"][0].update(level="micro"),
         "grids.children[0].children[0].level",
         "cannot sit below"),
        (lambda r: r["sla"].update(resolve_days={"easy": 0}), "sla.resolve_days.easy",
         "at least 1"),
        (lambda r: r["sla"].update(resolve_unit={"hard": "weeks"}), "sla.resolve_unit.hard",
         "working or calendar"),
        (lambda r: r["sla"].update(first_level={"easy": "mayor"}), "sla.first_level.easy",
         "must be one of"),
        (lambda r: r["calendar"].update(overrides={"2027-13-01": "holiday"}),
         "calendar.overrides.2027-13-01", "must be a date"),
        (lambda r: r["calendar"].update(timezone="Mars/Olympus"), "calendar.timezone",
         "unknown time zone"),
        (lambda r: r["classifier"].update(rules="rules/missing.yaml"), "classifier.rules",
         "file not found"),
        (lambda r: r.update(quiet_hours={"start": "25:00"}), "quiet_hours.start", "time like"),
    ],
)
def test_each_problem_names_its_key_and_reason(mutate, key, reason):
    with pytest.raises(ConfigError) as caught:
        build(mutate)
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_environment_wins_over_the_file():
    settings = build(lambda r: None, environ={
        "WECOM_SECRET": "from-env", "DATABASE_URL": "postgresql://u@db/gridbot",
        "WECOM_AES_KEY": "A" * 43, "GRIDBOT_API_TOKENS": "t1, t2",
    })
    assert settings.wecom.secret == "from-env"
    assert settings.wecom.encoding_aes_key == "A" * 43
    assert settings.database_url == "postgresql+psycopg://u@db/gridbot"
    assert settings.api_tokens == ("t1", "t2")


def test_a_bad_environment_value_is_reported_under_its_key():
    with pytest.raises(ConfigError) as caught:
        build(lambda r: None, environ={"WECOM_AES_KEY": "tooshort"})
    assert caught.value.key == "wecom.encoding_aes_key"


def test_yaml_syntax_errors_and_missing_files(tmp_path: Path):
    broken = tmp_path / "config.yaml"
    broken.write_text("township: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(broken, environ={})
    assert caught.value.key == "(yaml)" and "line" in caught.value.reason
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.yaml", environ={})
    assert caught.value.reason == "not found"


def _run_bot(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "AIBOT_"))}
    env.pop("DATABASE_URL", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_bot_stops_with_the_key_and_reason_on_a_bad_config(tmp_path: Path):
    raw = copy.deepcopy(RAW)
    raw["wecom"]["encoding_aes_key"] = "short"
    raw["classifier"] = {k: str(ROOT / v) for k, v in raw["classifier"].items() if k != "threshold"}
    bad = tmp_path / "config.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    for command in (["check-config"], ["serve", "--port", "0"], ["demo", "--port", "0"]):
        result = _run_bot("--config", str(bad), *command)
        assert result.returncode == 2, command
        assert "wecom.encoding_aes_key: must be 43 letters or digits" in result.stderr


def test_check_config_accepts_the_sample():
    result = _run_bot("check-config")
    assert result.returncode == 0, result.stderr
    assert "config OK: 东顺街道" in result.stdout and "10 categories" in result.stdout


def test_help_lists_the_commands():
    result = _run_bot("--help")
    for command in ("serve", "demo", "db", "check-config", "scheduler", "worker", "rules",
                    "notice", "report"):
        assert command in result.stdout
