"""Markdown turned into the plain text people read in the WeChat plug-in."""

from __future__ import annotations

import pytest

from notify.plain_text import markdown_to_text


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("### 【东顺街道通知】停水", "【东顺街道通知】停水"),
        ("请于**12月31日**前缴费", "请于12月31日前缴费"),
        ("详见[说明](https://x.cn/a)", "详见说明（https://x.cn/a）"),
        ("> 发布：东顺街道", "发布：东顺街道"),
        ('<font color="warning">注意</font>安全', "注意安全"),
        ("- 带身份证\n- 带户口本", "- 带身份证\n- 带户口本"),
        ("5*3=15，工单 #12", "5*3=15，工单 #12"),
        ("`代码`与*斜体*", "代码与斜体"),
    ],
)
def test_markdown_to_text(markdown: str, text: str) -> None:
    assert markdown_to_text(markdown) == text
