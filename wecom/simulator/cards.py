"""Interactive template cards as WeCom keeps them: what each member sees, and the update codes.

WeCom hands out a ``response_code`` twice for an interactive card (button, vote, multiple
choice): in the answer to ``message/send`` and in every ``template_card_event`` callback of a
click. ``message/update_template_card`` spends one code: it greys the card's buttons out under
a new caption (``button.replace_name``) or replaces the card with another one. A code is good
for one call within 72 hours.

:class:`CardBoard` is that bookkeeping for the simulator: ``record`` a card as delivered,
``issue`` codes (``click`` does it as WeCom does when a member clicks), ``spend`` one on an
update, and read what a member sees now with ``view``/``views_for``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

#: How long a response_code can be spent (the update_template_card reference: 72 hours).
CODE_TTL_SECONDS = 72 * 3600
INTERACTIVE_CARDS = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})


class CardNotClickable(RuntimeError):
    """The member's card has no live buttons (an update greyed them out): WeCom sends no click."""


@dataclass(frozen=True)
class CardView:
    """One member's copy of one interactive card, as it looks now."""

    userid: str
    task_id: str
    card: dict[str, Any]  # the template_card as sent, or its replacement
    replace_name: str | None = None  # a button update: the buttons are greyed out under this
    updates: int = 0

    @property
    def clickable(self) -> bool:
        return self.replace_name is None and bool(self.buttons)

    @property
    def buttons(self) -> list[str]:
        """The captions of the buttons that can still be clicked."""
        if self.replace_name is not None:
            return []
        return [str(b.get("text", "")) for b in self.card.get("button_list") or []]

    @property
    def text(self) -> str:
        """The card as a member reads it: titles, content, then the buttons or the caption."""
        title = self.card.get("main_title") or {}
        lines = [str(title.get("title", "")), str(title.get("desc", "")),
                 str(self.card.get("sub_title_text", ""))]
        lines += [f"{h.get('keyname', '')}：{h.get('value', '')}"
                  for h in self.card.get("horizontal_content_list") or []]
        if self.replace_name is not None:
            lines.append(f"〔{self.replace_name}〕")
        elif self.buttons:
            lines.append(" ".join(f"[{b}]" for b in self.buttons))
        return "\n".join(line for line in lines if line)

    def as_dict(self) -> dict[str, Any]:
        return {"userid": self.userid, "task_id": self.task_id, "card": self.card,
                "replace_name": self.replace_name, "clickable": self.clickable,
                "buttons": self.buttons, "text": self.text, "updates": self.updates}


@dataclass
class _Code:
    task_id: str
    issued_at: float
    used: bool = False


@dataclass
class CardBoard:
    """Every interactive card delivered, per member, and the response codes issued for them."""

    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _views: dict[tuple[str, str], CardView] = field(default_factory=dict, repr=False)
    _codes: dict[str, _Code] = field(default_factory=dict, repr=False)

    def record(self, userid: str, card: dict[str, Any]) -> None:
        """``card`` reached ``userid`` (message/send); a card with the same task id is replaced."""
        task_id = str(card.get("task_id") or "")
        if card.get("card_type") not in INTERACTIVE_CARDS or not task_id:
            return
        with self.lock:
            self._views[(userid, task_id)] = CardView(userid, task_id, dict(card))

    def issue(self, task_id: str) -> str:
        """A fresh response_code for the card ``task_id``."""
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = _Code(task_id, time.time())
        return code

    def click(self, userid: str, task_id: str) -> str:
        """The response_code of a member's click (raises when the card's buttons are grey)."""
        with self.lock:
            view = self._views.get((userid, task_id))
            if view is not None and not view.clickable:
                raise CardNotClickable(f"{userid}'s card {task_id} shows {view.replace_name!r}")
            return self.issue(task_id)

    def task_of(self, code: str) -> str | None:
        """The task id ``code`` may still update, or None when unknown, used or expired."""
        with self.lock:
            entry = self._codes.get(code)
            if entry is None or entry.used:
                return None
            if time.time() - entry.issued_at > CODE_TTL_SECONDS:
                return None
            return entry.task_id

    def spend(self, code: str) -> bool:
        """Use ``code`` up; False if it could not be used (any more)."""
        with self.lock:
            if self.task_of(code) is None:
                return False
            self._codes[code].used = True
            return True

    def recipients(self, task_id: str) -> set[str]:
        with self.lock:
            return {userid for (userid, task), _ in self._views.items() if task == task_id}

    def card_type(self, task_id: str) -> str | None:
        with self.lock:
            for (_, task), view in self._views.items():
                if task == task_id:
                    return str(view.card.get("card_type") or "")
            return None

    def update(
        self,
        task_id: str,
        userids: Iterable[str],
        *,
        replace_name: str | None = None,
        card: dict[str, Any] | None = None,
    ) -> int:
        """Grey the buttons out under ``replace_name``, or show ``card`` instead; how many."""
        count = 0
        with self.lock:
            for userid in userids:
                view = self._views.get((userid, task_id))
                if view is None:
                    continue
                if card is not None:
                    view = replace(view, card=dict(card), replace_name=None)
                else:
                    view = replace(view, replace_name=replace_name)
                self._views[(userid, task_id)] = replace(view, updates=view.updates + 1)
                count += 1
        return count

    def view(self, userid: str, task_id: str) -> CardView | None:
        with self.lock:
            return self._views.get((userid, task_id))

    def views_for(self, userid: str) -> list[CardView]:
        """The member's cards, in the order they arrived."""
        with self.lock:
            return [v for (user, _), v in self._views.items() if user == userid]

    def all_views(self) -> list[CardView]:
        with self.lock:
            return list(self._views.values())
