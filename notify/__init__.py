"""Telling people things: render domain events as Chinese WeCom messages and queue them.

``Messenger`` decides the address (the smart bot's reply URL, a group robot, an app message to a
person) and writes outbox rows in the caller's transaction; ``texts`` holds the wording. Anything
a group can read is PII-masked here, in one place.
"""

from notify.messenger import Messenger

__all__ = ["Messenger"]
