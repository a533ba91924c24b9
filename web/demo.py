"""The demo's chat page (``/demo``): people type, the WeCom simulator shows what GridBot sent.

What a person types on the page is signed and encrypted by the simulator's callback client and
POSTed to GridBot's real callback endpoints, exactly as WeCom would; what GridBot sends goes
through its real sender to the simulator, which the page shows. The one-process demo around it
is assembled by :mod:`runtime.demo`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from settings.model import Settings
from vocab.labels import role_label
from wecom.simulator import SimulatorState, markdown
from wecom.simulator.callback import CallbackClient
from wecom.simulator.cards import CardNotClickable
from wecom.simulator.payloads import aibot_text, app_text, template_card_click

SIM_PREFIX = "/sim"


@dataclasses.dataclass
class DemoWorld:
    """The demo's own state: the simulator and what people typed on the page."""

    settings: Settings
    state: SimulatorState
    base_url: str
    said: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def app_client(self) -> CallbackClient:
        wecom = self.settings.wecom
        return CallbackClient(self.base_url, wecom.token, wecom.encoding_aes_key, wecom.corp_id,
                              agent_id=wecom.agent_id)

    def aibot_client(self) -> CallbackClient:
        aibot = self.settings.aibot
        return CallbackClient(self.base_url, aibot.token, aibot.encoding_aes_key, "")

    def remember(self, **item: Any) -> None:
        with self.lock:
            self.said.append({**item, "at": time.time()})


def demo_blueprint(world: DemoWorld) -> Blueprint:
    bp = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates")

    @bp.get("")
    def page():  # type: ignore[no-untyped-def]
        settings = world.settings
        people = [
            {"userid": p.userid, "name": p.name, "role": p.role, "label": role_label(p.role)}
            for p in settings.roster
        ]
        groups = [{"chat_id": g.chat_id, "name": g.name} for g in settings.groups]
        return render_template("demo.html", people=people, groups=groups,
                               township=settings.township, bot=settings.aibot.name)

    @bp.post("/api/say")
    def say():  # type: ignore[no-untyped-def]
        data = request.get_json(silent=True) or {}
        userid = str(data.get("userid") or "")
        text = str(data.get("text") or "").strip()
        chat_id = data.get("chat_id") or None
        button = data.get("button")
        if not userid or not (text or button):
            return jsonify(error="userid and text are required"), 400
        if button:
            try:
                code = world.state.cards.click(userid, button["task_id"])
            except CardNotClickable:
                return jsonify(error="the card's buttons are greyed out"), 409
            delivery = world.app_client().send_app_xml(
                "/wecom/callback",
                template_card_click(userid, button["task_id"], button["key"], response_code=code),
            )
            world.remember(userid=userid, chat_id=None, text=f"[点击] {button['text']}")
        elif chat_id:
            reply_url = world.state.new_response_url(
                f"{world.base_url}{SIM_PREFIX}", chat_id=chat_id, userid=userid
            )
            world.remember(userid=userid, chat_id=chat_id, text=text)
            delivery = world.aibot_client().send_aibot_json(
                "/wecom/aibot",
                aibot_text(userid, chat_id, text, response_url=reply_url,
                           bot_name=world.settings.aibot.name),
            )
        else:
            world.remember(userid=userid, chat_id=None, text=text)
            delivery = world.app_client().send_app_xml("/wecom/callback", app_text(userid, text))
        return jsonify(status=delivery.status, deliveries=delivery.count)

    @bp.get("/api/feed")
    def feed():  # type: ignore[no-untyped-def]
        groups = {g.webhook_key: g.chat_id for g in world.settings.groups if g.webhook_key}
        items: list[dict[str, Any]] = []
        with world.lock:
            items.extend({"kind": "said", **s} for s in world.said)
        for d in world.state.delivered:
            chat = d.chat_id or groups.get(d.target) if d.channel in ("webhook", "response_url") \
                else (d.target if d.channel == "appchat" else None)
            item = {
                "kind": "bot", "channel": d.channel, "to": d.target, "chat_id": chat,
                "msgtype": d.msgtype, "content": d.content, "body": d.body, "at": d.at,
            }
            if d.msgtype == "markdown":
                item["html"] = markdown.render(d.content)  # as the WeCom client shows it
            if d.msgtype == "template_card" and d.channel == "app":
                # what the member sees now: the card after any update_template_card
                view = world.state.cards.view(d.target, str(d.body[d.msgtype].get("task_id")))
                if view is not None:
                    item["card"] = view.as_dict()
            items.append(item)
        items.sort(key=lambda i: i["at"])
        return jsonify(items=items, dropped=len(world.state.dropped))

    return bp
