"""Masking of phones and ID numbers; building/unit/room extraction."""

from __future__ import annotations

import json

import pytest

from nlp import extract_location, mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678", "电话138****5678"),
        ("联系我138-1234-5678谢谢", "联系我138****5678谢谢"),
        ("+8613812345678", "+86138****5678"),
        ("身份证110105199003071234", "身份证110105********1234"),
        ("身份证号11010519900307123X，", "身份证号110105********123X，"),
        ("老证130503670401001号", "老证130503*****1001号"),
        ("座机0571-88886666", "座机0571-****6666"),
    ],
)
def test_masks(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", ["接单 #12", "工单12 已办结", "2024年3月5日下午", "20240305", "3栋2单元302",
                                  "订单号2024030512345678901", "金额12345元"])
def test_leaves_other_numbers(text: str) -> None:
    assert mask_pii(text) == text


def test_phone_and_id_in_one_message() -> None:
    out = mask_pii("我叫张三，身份证110105199003071234，电话13812345678，住3栋")
    assert "13812345678" not in out and "199003071234" not in out
    assert "138****5678" in out and "110105********1234" in out


def test_numbers_after_json_escapes_are_masked() -> None:
    """JSON with ensure_ascii ends "证" and "号" in digits: "\\u8bc1", "\\u53f7"."""
    escaped = json.dumps({"text": "身份证110105199003071234，手机号13812345678，座机号0571-88886666"})
    out = mask_pii(escaped)
    assert "199003071234" not in out and "13812345678" not in out and "8888" not in out
    assert "110105********1234" in out and "138****5678" in out and "0571-****6666" in out
    assert mask_pii(json.dumps("工单号20240305")) == json.dumps("工单号20240305")


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ("我家3栋2单元302漏水", "3栋2单元302"),
        ("12号楼楼道灯坏了", "12号楼"),
        ("2单元501室楼上吵", "2单元501室"),
        ("幸福小区7号楼3单元201室门口", "7号楼3单元201室"),
        ("五栋三单元的电梯", "五栋三单元"),
        ("A座1203有人飞线充电", "A座1203"),
        ("3月12号来人", None),
        ("三楼楼道", None),
        ("没有地址", None),
    ],
)
def test_extract_location(text: str, loc: str | None) -> None:
    assert extract_location(text) == loc
