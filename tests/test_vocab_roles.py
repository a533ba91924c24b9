"""One role vocabulary: every role config.yaml accepts exists in the core with its one Chinese
name, and every role→Chinese table of the product is derived from that one table (no copies)."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from cases import wording as core_texts
from cases.permissions import RULES
from notify.wording import notices as notice_texts
from settings import ConfigError, parse_settings
from tests.conftest import CONFIG, ROOT
from vocab import LADDER, PERSON_ROLES, STAFF_ROLES, Level, Role
from vocab.labels import LEVEL_LABELS, ROLE_BY_WORD, ROLE_LABELS, role_label, role_title

RAW = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
PRODUCT = [p for p in ROOT.rglob("*.py")
           if not {"tests", "bench", ".venv", "build"} & set(p.relative_to(ROOT).parts)]
LADDER_CODES = "|".join(level.value for level in Level)


def with_role(role: str):  # type: ignore[no-untyped-def]
    raw = copy.deepcopy(RAW)
    raw["roster"].append({"userid": "someone", "name": "某人", "role": role,
                          "grids": ["640323"]})
    return parse_settings(raw, base_dir=ROOT, environ={})


@pytest.mark.parametrize("role", [r.value for r in PERSON_ROLES])
def test_every_role_config_accepts_exists_in_the_core_with_a_label(role):
    settings = with_role(role)
    accepted = {entry.role for entry in settings.roster}
    assert role in accepted
    core = Role(role)
    assert core in RULES  # the permission matrix knows what it may do
    assert ROLE_LABELS[core] and role_label(role) == ROLE_LABELS[core]


@pytest.mark.parametrize("word", ["system", "boss", "Worker", "微网格员"])
def test_config_refuses_what_is_not_a_persons_role(word):
    with pytest.raises(ConfigError, match="must be one of"):
        with_role(word)


def test_the_vocabulary_is_whole_and_its_labels_distinct():
    assert set(RULES) == set(Role)
    assert set(ROLE_LABELS) == set(Role)
    assert len(set(ROLE_LABELS.values())) == len(Role)
    assert Role.SYSTEM not in PERSON_ROLES and Role.RESIDENT not in STAFF_ROLES
    # each rung of the ladder is worked by the role of its name, the county at the top
    assert {Role(level.value) for level in LADDER} <= set(STAFF_ROLES)
    assert Role(LADDER[-1].value) is Role.COUNTY


def test_every_label_table_is_derived_from_the_one_vocabulary():
    assert core_texts.ROLE_LABELS is ROLE_LABELS
    assert core_texts.LEVEL_LABELS is LEVEL_LABELS
    assert dict(LEVEL_LABELS) == {level: ROLE_LABELS[Role(level.value)] for level in Level}
    assert {r.value: ROLE_LABELS[r] for r in PERSON_ROLES} == notice_texts.ROLE_NAMES
    assert {notice_texts.ROLE_WORDS[ROLE_LABELS[r]] for r in PERSON_ROLES} == set(PERSON_ROLES)
    assert notice_texts.ROLE_WORDS["微网格员"] == "micro"  # still understood when typed
    assert role_title("micro") == "联户长" and role_title("county") == "县综治中心"
    assert role_title("department") == role_title("admin") == role_title("resident") == ""


def test_micro_is_said_one_way():
    assert ROLE_LABELS[Role.MICRO] == "联户长"
    assert ROLE_BY_WORD["微网格员"] is Role.MICRO
    for path in PRODUCT:
        if path.parts[-2:] == ("vocab", "labels.py"):
            continue
        source = path.read_text(encoding="utf-8").replace("小事微网格员办", "")  # the slogan
        assert "微网格员" not in source, path


def test_no_module_keeps_a_copy_of_the_role_names():
    """A role code (or ``Role.X``) mapped to a Chinese word is a label table: only vocab has one."""
    copy_of_labels = re.compile(
        rf"""(["']({LADDER_CODES}|resident|department|admin)["']|Role\.[A-Z]+)\s*:\s*["'][\u4e00-\u9fff]""")
    for path in PRODUCT:
        if path.parts[-2:] == ("vocab", "labels.py"):
            continue
        found = copy_of_labels.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path}: {found and found.group(0)}"
