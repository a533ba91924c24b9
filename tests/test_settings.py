"""config.yaml validation: every problem names the key and the reason; bot.py exits 2 on it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settings import ConfigError, config_schema, load_settings, parse_settings
from settings.schema import ROLES
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
        (lambda r: r.update(conversation={"rating_prompt_days": 0}),
         "conversation.rating_prompt_days", "at least 1"),
    ],
)
def test_each_problem_names_its_key_and_reason(mutate, key, reason):
    with pytest.raises(ConfigError) as caught:
        build(mutate)
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_conversation_prompts_wait_as_configured():
    assert load_settings(CONFIG, environ={}).conversation.rating_prompt_days == 7
    settings = build(lambda r: r.update(conversation={"rating_prompt_days": 3,
                                                      "choice_prompt_hours": 2}))
    assert (settings.conversation.rating_prompt_days,
            settings.conversation.choice_prompt_hours) == (3, 2)
    defaults = build(lambda r: r.pop("conversation"))
    assert defaults.conversation.rating_prompt_days == 7


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


def test_a_config_alone_finds_the_rules_and_words_gridbot_ships(tmp_path: Path):
    """An installed GridBot: the sample config copied out, no rules/ or nlp/ beside it."""
    alone = tmp_path / "config.yaml"
    alone.write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    classifier = load_settings(alone, environ={}).classifier
    assert classifier.rules_path == ROOT / "rules" / "categories.yaml"
    assert classifier.faq_path == ROOT / "rules" / "faq.yaml"
    assert classifier.userdict_path == ROOT / "nlp" / "userdict.txt"


def test_a_copy_beside_the_config_wins_over_the_shipped_file(tmp_path: Path):
    (tmp_path / "rules").mkdir()
    own = tmp_path / "rules" / "categories.yaml"
    own.write_text((ROOT / "rules" / "categories.yaml").read_text(encoding="utf-8"),
                   encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_settings(config, environ={}).classifier.rules_path == own


@pytest.mark.parametrize("name", ["rules/mine.yaml", "tests/data/grid_messages.csv",
                                  "rules/../tests/data/grid_messages.csv"])
def test_a_file_neither_beside_the_config_nor_shipped_is_an_error(tmp_path: Path, name: str):
    raw = copy.deepcopy(RAW)
    raw["classifier"]["rules"] = name
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert {problem.key: problem.reason for problem in caught.value.problems} == {
        "classifier.rules": f"file not found: {tmp_path / name}"}


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


def problems_of(mutate, environ=None) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        build(mutate, environ)
    return {problem.key: problem.reason for problem in caught.value.problems}


def test_a_misspelled_key_is_an_error_that_suggests_the_right_one():
    def misspell(raw):
        raw["quite_hours"] = raw.pop("quiet_hours")

    with pytest.raises(ConfigError) as caught:
        build(misspell)
    assert str(caught.value) == "quite_hours: unknown key; did you mean quiet_hours?"
    assert (caught.value.key, caught.value.reason) == (
        "quite_hours", "unknown key; did you mean quiet_hours?")


@pytest.mark.parametrize(
    ("mutate", "key", "meant"),
    [
        (lambda r: r["sla"].update(dispach_days=2), "sla.dispach_days", "dispatch_days"),
        (lambda r: r["roster"][3].update(rol="worker"), "roster[3].rol", "role"),
        (lambda r: r["wecom"]["limits"].update(member_per_minte=3),
         "wecom.limits.member_per_minte", "member_per_minute"),
        (lambda r: r["grids"]["children"][0].update(nmae="x"), "grids.children[0].nmae", "name"),
        (lambda r: r["sla"]["resolve_days"].update(eazy=3), "sla.resolve_days.eazy", "easy"),
    ],
)
def test_misspelled_keys_are_found_at_any_depth_with_their_full_path(mutate, key, meant):
    assert problems_of(mutate) == {key: f"unknown key; did you mean {meant}?"}


def test_an_unknown_key_with_no_near_match_lists_the_known_ones():
    reason = problems_of(lambda r: r["quiet_hours"].update(zzz=1))["quiet_hours.zzz"]
    assert reason == "unknown key; known keys: start, end"


def test_every_problem_is_reported_in_one_run():
    def break_many(raw):
        raw["wecom"]["encoding_aes_key"] = "x" * 12
        raw["wecom"]["agent_id"] = 0
        raw["sla"]["dispach_days"] = 2
        raw["sla"]["remind_at_fractions"] = [0.5, 2]
        raw["roster"][3]["role"] = "boss"
        raw["groups"][1]["grid"] = "nowhere"
        raw["calendar"]["timezone"] = "Mars/Olympus"
        raw["quite_hours"] = raw.pop("quiet_hours")

    assert problems_of(break_many) == {
        "wecom.encoding_aes_key": "must be 43 letters or digits (WeCom EncodingAESKey), got 12",
        "wecom.agent_id": "must be at least 1, got 0",
        "sla.dispach_days": "unknown key; did you mean dispatch_days?",
        "sla.remind_at_fractions[1]": "must be between 0 and 1",
        "roster[3].role": "must be one of " + ", ".join(ROLES),
        "groups[1].grid": "unknown grid code nowhere",
        "calendar.timezone": "unknown time zone 'Mars/Olympus'",
        "quite_hours": "unknown key; did you mean quiet_hours?",
    }


def test_every_cross_reference_problem_is_reported_in_one_run():
    def break_references(raw):
        raw["roster"][4]["grids"] = ["999"]
        raw["roster"][5]["grids"] = []
        raw["roster"].append(dict(raw["roster"][0]))
        raw["groups"][0]["grid"] = "nowhere"
        raw["center_grid"] = "000"

    assert problems_of(break_references) == {
        "roster[4].grids": "unknown grid code 999",
        "roster[5].grids": "a worker needs at least one grid",
        "roster[16].userid": "duplicate userid zhaolei",
        "groups[0].grid": "unknown grid code nowhere",
        "center_grid": "unknown grid code 000",
    }


def test_a_broken_grid_tree_reports_each_node_and_spares_the_references_to_it():
    def break_tree(raw):
        township = raw["grids"]["children"][0]
        township["level"] = "micro"
        township["children"][1]["code"] = township["children"][0]["code"]

    problems = problems_of(break_tree)
    assert problems == {
        "grids.children[0].children[0].level": "a village cannot sit below a micro (640323001)",
        "grids.children[0].children[1].level": "a village cannot sit below a micro (640323001)",
        "grids.children[0].children[1].code": "duplicate grid code 640323001001",
    }


def test_missing_and_blank_values():
    problems = problems_of(lambda r: (r.pop("aibot"), r["wecom"].update(token="  "),
                                      r.update(roster=None)))
    assert problems == {"aibot": "missing section", "wecom.token": "missing or empty",
                        "roster": "missing or empty"}
    settings = build(lambda r: r.update(sla=None, groups=None, redis={"url": None}))
    assert settings.sla.dispatch_days == 1 and settings.groups == () and settings.redis_url is None


def test_one_grid_may_be_written_as_grid():
    settings = build(lambda r: r["roster"][4].update(grid="640323001001002", grids=None))
    assert settings.roster[4].grids == ("640323001001002",)


def test_the_process_environment_wins_over_the_file(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WECOM_AGENT_ID", "1000099")
    monkeypatch.setenv("AIBOT_TOKEN", "bot-from-env")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("WECOM_SECRET", "")  # blank: ignored, the file's value stays
    raw = copy.deepcopy(RAW)
    settings = parse_settings(raw, base_dir=ROOT)
    assert settings.wecom.agent_id == 1000099
    assert settings.aibot.token == "bot-from-env"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.wecom.secret == RAW["wecom"]["secret"]
    assert raw == RAW  # the parsed file itself is left as it was


def test_a_bad_environment_value_is_reported_with_the_files_other_problems():
    problems = problems_of(lambda r: r["sla"].update(rating_days=0),
                           environ={"WECOM_AGENT_ID": "abc"})
    assert problems == {"wecom.agent_id": "must be a whole number, got 'abc'",
                        "sla.rating_days": "must be at least 1, got 0"}


def test_the_json_schema_names_the_keys_and_accepts_the_sample():
    import jsonschema

    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {"township", "wecom", "grids", "roster", "sla", "quiet_hours"} <= set(
        schema["properties"])
    wecom = schema["$defs"]["WeComSection"]["properties"]
    assert "encoding_aes_key" in wecom and "WECOM_SECRET" in wecom["secret"]["description"]
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(RAW))
    misspelled = copy.deepcopy(RAW)
    misspelled["quite_hours"] = misspelled.pop("quiet_hours")
    misspelled["roster"][0]["role"] = "boss"
    assert {tuple(e.absolute_path) for e in validator.iter_errors(misspelled)} == {
        (), ("roster", 0, "role")}


def test_the_committed_schema_is_the_generated_one():
    committed = json.loads((ROOT / "docs" / "config.schema.json").read_text(encoding="utf-8"))
    assert committed == config_schema(), "run: python bot.py check-config --schema docs/config.schema.json"


def test_check_config_prints_the_schema_for_editors(tmp_path: Path):
    result = _run_bot("check-config", "--schema")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == config_schema()
    target = tmp_path / "schema.json"
    result = _run_bot("check-config", "--schema", str(target))
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text(encoding="utf-8")) == config_schema()


def test_check_config_exits_2_naming_every_bad_key(tmp_path: Path):
    raw = copy.deepcopy(RAW)
    raw["quite_hours"] = raw.pop("quiet_hours")
    raw["roster"][3]["role"] = "boss"
    raw["sla"]["dispatch_days"] = 0
    raw["classifier"] = {k: str(ROOT / v) for k, v in raw["classifier"].items() if k != "threshold"}
    bad = tmp_path / "config.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = _run_bot("check-config", env_extra={"GRIDBOT_CONFIG": str(bad)})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert f"config error: {bad}: quite_hours: unknown key; did you mean quiet_hours?" in lines
    assert f"config error: {bad}: roster[3].role: must be one of {', '.join(ROLES)}" in lines
    assert f"config error: {bad}: sla.dispatch_days: must be at least 1, got 0" in lines
