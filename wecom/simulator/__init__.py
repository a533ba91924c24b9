"""A faithful fake WeCom: the API we send to, and the client that calls our callbacks.

Tests and ``bot.py demo`` use it in place of ``https://qyapi.weixin.qq.com``: set
``wecom.api_base`` to where it is mounted. See :mod:`wecom.simulator.state` for the knobs.
"""

from wecom.simulator.app import create_simulator_app, run_simulator_in_thread
from wecom.simulator.callback import Attempt, CallbackClient, CallbackDelivery, UrlCheck
from wecom.simulator.payloads import (
    aibot_text,
    app_event,
    app_image,
    app_link,
    app_location,
    app_text,
    app_voice,
    template_card_click,
    to_xml,
)
from wecom.simulator.state import Call, Delivered, Dropped, Repeated, SimulatorState

__all__ = [
    "Attempt",
    "Call",
    "CallbackClient",
    "CallbackDelivery",
    "Delivered",
    "Dropped",
    "Repeated",
    "SimulatorState",
    "UrlCheck",
    "aibot_text",
    "app_event",
    "app_image",
    "app_link",
    "app_location",
    "app_text",
    "app_voice",
    "create_simulator_app",
    "run_simulator_in_thread",
    "template_card_click",
    "to_xml",
]
