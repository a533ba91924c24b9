"""WeCom's markdown, rendered as the WeCom client shows it (for the demo page).

Group robots and app messages of ``msgtype: markdown`` support a small subset, and the client
shows anything else as typed: headings ``#`` to ``######``, ``**bold**``, ``[text](url)``
links, inline ``code``, ``>`` quotes and ``<font color="info|comment|warning">`` (green, grey,
orange-red). Everything is HTML-escaped first, so a message can never inject markup into the
page; only the constructs above are turned back into tags.
"""

from __future__ import annotations

import html
import re

FONT_COLOURS = {"info": "#07c160", "comment": "#888888", "warning": "#fa5151"}

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_QUOTE = re.compile(r"^&gt;\s?(.*)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+)\)")
_FONT = re.compile(r"&lt;font color=(?:&quot;|&#x27;)(info|comment|warning)(?:&quot;|&#x27;)&gt;"
                   r"(.*?)&lt;/font&gt;", re.S)


def _inline(text: str) -> str:
    text = _CODE.sub(r"<code>\1</code>", text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _LINK.sub(r'<a href="\2" target="_blank" rel="noopener">\1</a>', text)
    return _FONT.sub(lambda m: f'<span style="color:{FONT_COLOURS[m.group(1)]}">{m.group(2)}'
                               "</span>", text)


def render(markdown: str) -> str:
    """The HTML the WeCom client would show for ``markdown`` (escaped, subset only)."""
    lines = []
    for raw in html.escape(markdown).split("\n"):
        if heading := _HEADING.match(raw):
            level = len(heading.group(1))
            lines.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif quote := _QUOTE.match(raw):
            lines.append(f"<blockquote>{_inline(quote.group(1))}</blockquote>")
        else:
            lines.append(_inline(raw) + "<br>")
    return "".join(lines).removesuffix("<br>")
