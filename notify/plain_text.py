"""Markdown as plain text, for the messages people read in the WeChat plug-in.

The app's markdown messages show only in the WeCom client; the WeChat plug-in most residents use
does not show them. So what goes to people 1:1 (and into the app's own group chats) is ``text``,
made from the markdown here: headings, emphasis, quotes, inline code and WeCom's ``<font>`` tags
are dropped, a link keeps its words and its address. Group robots get the markdown itself.
"""

from __future__ import annotations

import re

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<font[^>]*>(.*?)</font>", re.S), r"\1"),
    (re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)"), r"\1"),  # an image: its address
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r"\1（\2）"),  # a link: words（address）
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),  # headings
    (re.compile(r"^\s{0,3}>+\s?", re.M), ""),  # quotes
    (re.compile(r"(\*\*|__)(.+?)\1", re.S), r"\2"),  # bold
    (re.compile(r"(?<![*\d])\*(?![\s*])([^*\n]+?)(?<!\s)\*(?![*\d])"), r"\1"),  # italics
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # inline code
    (re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$", re.M), "——"),  # rules
)


def markdown_to_text(markdown: str) -> str:
    """The words of ``markdown`` without its marks (lists and line breaks kept)."""
    text = markdown
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip()
