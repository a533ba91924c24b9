"""The grid a ticket counts for in the KPIs: the nearest grid-level node (网格) at or above the
ticket's node, so a micro-grid's tickets count for its grid. One read of the grid tree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Grid

#: Where an unplaced ticket (centre triage) counts: no code, 未定网格.
UNPLACED: tuple[str, str] = ("", "未定网格")


class GridNodes:
    """Each grid id's grid-level node as ``(code, name)``, from one read of the grid tree."""

    def __init__(self, session: Session) -> None:
        self.nodes = {row.id: row for row in session.execute(
            select(Grid.id, Grid.code, Grid.name, Grid.level, Grid.parent_id))}
        self.found: dict[int | None, tuple[str, str]] = {None: UNPLACED}

    def of(self, grid_id: int | None) -> tuple[str, str]:
        """``(code, name)`` of the grid-level node ``grid_id`` counts for."""
        known = self.found.get(grid_id)
        if known is None:
            known = self.found[grid_id] = self._walk(grid_id)
        return known

    def _walk(self, grid_id: int | None) -> tuple[str, str]:
        own = self.nodes.get(grid_id) if grid_id is not None else None
        if own is None:
            return UNPLACED
        node = own
        while node is not None:
            if node.level == "grid":
                return node.code, node.name
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
        return own.code, own.name
