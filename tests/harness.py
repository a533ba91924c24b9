"""Drive GridBot end to end through the WeCom simulator, as WeCom and people would.

``Harness`` serves GridBot on a real port; residents and workers "type" through the simulator's
callback client (real signatures and AES), the outbox is delivered by the real worker and sender
to the simulator, and tests read what people received from the simulator's record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from settings import Settings
from store.models import InboundMessage, OutboxMessage, Ticket
from wecom.simulator import CallbackClient, CallbackDelivery, SimulatorState
from wecom.simulator.app import serve_in_thread
from wecom.simulator.payloads import aibot_text, app_text, template_card_click


@dataclasses.dataclass
class Harness:
    settings: Settings
    state: SimulatorState
    sim_url: str
    base_url: str
    runtime: Any
    _stop: Callable[[], None]

    @classmethod
    def start(cls, settings: Settings, engine: Engine, state: SimulatorState, sim_url: str,
              answer_timeout: float = 5.0) -> Harness:
        from runtime import build_runtime
        from web import create_app

        runtime = build_runtime(settings, engine=engine)
        base_url, stop = serve_in_thread(create_app(runtime))
        return cls(settings, state, sim_url, base_url, runtime, stop)

    def stop(self) -> None:
        self._stop()
        self.runtime.close()

    # -- people typing ----------------------------------------------------------------------

    def app_client(self, **kwargs: Any) -> CallbackClient:
        w = self.settings.wecom
        return CallbackClient(self.base_url, w.token, w.encoding_aes_key, w.corp_id,
                              agent_id=w.agent_id, **kwargs)

    def aibot_client(self, **kwargs: Any) -> CallbackClient:
        a = self.settings.aibot
        return CallbackClient(self.base_url, a.token, a.encoding_aes_key, "", **kwargs)

    def say_in_group(self, userid: str, chat_id: str, text: str, **fields: Any) -> CallbackDelivery:
        url = self.state.new_response_url(self.sim_url, chat_id=chat_id, userid=userid)
        payload = aibot_text(userid, chat_id, text, response_url=url,
                             bot_name=self.settings.aibot.name, **fields)
        return self.processed(self.aibot_client().send_aibot_json("/wecom/aibot", payload))

    def say_to_app(self, userid: str, text: str, msg_id: int | None = None) -> CallbackDelivery:
        return self.processed(
            self.app_client().send_app_xml("/wecom/callback", app_text(userid, text, msg_id)))

    def click(self, userid: str, task_id: str, key: str) -> CallbackDelivery:
        """A click on a card button, with the ResponseCode WeCom issues for it (raises
        ``CardNotClickable`` when an update has greyed the card's buttons out)."""
        code = self.state.cards.click(userid, task_id)
        return self.processed(self.app_client().send_app_xml(
            "/wecom/callback", template_card_click(userid, task_id, key, response_code=code)))

    def processed(self, delivery: CallbackDelivery) -> CallbackDelivery:
        """Route what the callbacks recorded (the server's processor thread, run inline)."""
        self.process()
        return delivery

    def process(self) -> int:
        return self.runtime.processor.drain()

    # -- the way out --------------------------------------------------------------------------

    def deliver(self, rounds: int = 5) -> int:
        """Run the real outbox worker until nothing is due; returns rows delivered."""
        from schedules.delivery import build_worker

        worker = build_worker(self.runtime)
        total = 0
        for _ in range(rounds):
            total += worker.run_once(500)
            if not worker.last_claimed:  # nothing was due (a failure may queue a fallback)
                break
        return total

    def received(self, userid: str) -> list[str]:
        return [d.content for d in self.state.messages_for(userid)]

    def reached(self, userid: str) -> list[str]:
        """Everything that reached ``userid``: app messages, and group messages @-mentioning them
        (marked ``[群 chat]``)."""
        return self.state.received()["people"].get(userid, [])

    def group_received(self, chat_id: str) -> list[str]:
        return [d.content for d in self.state.messages_for_chat(chat_id)]

    # -- the database -------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.runtime.session_factory() as session:
            yield session

    def count(self, model: type) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def tickets(self) -> list[Ticket]:
        with self.session() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))

    def outbox(self) -> list[OutboxMessage]:
        with self.session() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def inbound(self) -> list[InboundMessage]:
        with self.session() as session:
            return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
