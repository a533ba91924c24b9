"""The dashboard's monthly figures, kept a while per reach (``cases.ticket_search`` counts them).

Counting a year of a township's tickets is the dashboard's one expensive query, and months
before last month change only as old tickets are finished: they are kept ``ttl`` seconds, this
month and last month ``recent_ttl``. Once a reach's figures are known, a stale entry is
answered at once and counted again in the background (one refresh at a time per entry), so
only the very first look after the process starts waits for the count.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import tzinfo
from time import monotonic

from sqlalchemy.orm import Session, sessionmaker

from cases.permissions import Reach
from cases.ticket_search import MonthFigures, monthly_figures
from store.roster import RosterIndex

log = logging.getLogger(__name__)
Key = tuple[Reach, tuple[str, ...]]


class FiguresCache:
    """Monthly figures per (reach, months), refreshed in the background once stale."""

    def __init__(self, session_factory: sessionmaker[Session] | None = None, *,
                 ttl: float = 600.0, recent_ttl: float = 60.0, limit: int = 1000) -> None:
        self.session_factory = session_factory
        self.ttl = ttl
        self.recent_ttl = recent_ttl
        self.limit = limit
        self._lock = threading.Lock()
        self._kept: dict[Key, tuple[float, list[MonthFigures]]] = {}
        self._refreshing: set[Key] = set()

    def figures(self, session: Session, index: RosterIndex, area: Reach,
                months: Sequence[str], tz: tzinfo) -> list[MonthFigures]:
        """The figures of ``months`` (consecutive, oldest first, the last one this month)."""
        return [*self._get(session, index, area, tuple(months[:-2]), tz, self.ttl),
                *self._get(session, index, area, tuple(months[-2:]), tz, self.recent_ttl)]

    def _get(self, session: Session, index: RosterIndex, area: Reach, months: tuple[str, ...],
             tz: tzinfo, ttl: float) -> list[MonthFigures]:
        if not months:
            return []
        key = (area, months)
        with self._lock:
            kept = self._kept.get(key)
            stale = kept is not None and monotonic() - kept[0] > ttl
            refresh = stale and self.session_factory is not None and key not in self._refreshing
            if refresh:
                self._refreshing.add(key)
        if kept is not None and not stale:
            return kept[1]
        if refresh:
            threading.Thread(target=self._refresh, args=(key, index, tz), daemon=True,
                             name="console-figures").start()
            assert kept is not None
            return kept[1]
        figures = monthly_figures(session, index, area, months, tz)
        self._keep(key, figures)
        return figures

    def _keep(self, key: Key, figures: list[MonthFigures]) -> None:
        with self._lock:
            if len(self._kept) >= self.limit:  # people and months come and go: start afresh
                self._kept.clear()
            self._kept[key] = (monotonic(), figures)

    def _refresh(self, key: Key, index: RosterIndex, tz: tzinfo) -> None:
        assert self.session_factory is not None
        try:
            with self.session_factory() as session:
                self._keep(key, monthly_figures(session, index, key[0], key[1], tz))
        except Exception:  # the stale figures stay; the next look tries again
            log.exception("refreshing the dashboard's figures failed")
        finally:
            with self._lock:
                self._refreshing.discard(key)
