"""The log of every GridBot process: one format, and no personal data in any line.

Residents type phone and ID numbers into their reports; those reach log records through
messages, their arguments and exception texts (a failing handler, a database error). Every
handler of the root logger gets :class:`MaskPersonalData`, which masks them with the product's
own :func:`nlp.mask_pii` before any handler formats the record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from nlp import mask_pii

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log every job run or plugin at INFO: only their warnings unless --verbose.
NOISY = ("apscheduler", "alembic")


class MaskPersonalData(logging.Filter):
    """Masks phone and ID numbers in a record's message, arguments and exception text, in place.

    The message is merged with its arguments and masked (``args`` become ``None``); the
    traceback is rendered once into ``exc_text``, masked, and ``exc_info`` dropped, so no
    handler or formatter after this one can render the raw exception again.
    """

    _traceback = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep both, masked
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = mask_pii(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self._traceback.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)
        return True


def mask_personal_data(handlers: Iterable[logging.Handler] | None = None) -> None:
    """Give ``handlers`` (default: the root logger's) the masking filter, once each."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, MaskPersonalData) for f in handler.filters):
            handler.addFilter(MaskPersonalData())


def configure_logging(*, verbose: bool = False) -> None:
    """The log of a GridBot process: stderr, INFO (DEBUG when ``verbose``), personal data masked."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=FORMAT)
    mask_personal_data()
    if not verbose:
        for noisy in NOISY:
            logging.getLogger(noisy).setLevel(logging.WARNING)
