"""居民名单: the residents GridBot enrolled on their first message, for the centre and admins.

``居民名单`` lists the most recently enrolled first (with the total); ``居民名单 网格名`` keeps to
that grid and the grids below it. Each line says where the resident came from (which group, or
the app 1:1), when they were first seen, and whether the app reaches them or the group must.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from handlers.base import CommandHandler, CommandMatch, Context, Handler
from notify.tickets import format_time
from notify.wording import resident_list as T
from store.models import Grid, GroupChat, Person
from store.roster import subtree_ids
from vocab import Enrolment, Role

LIST_LIMIT = 30
VIEWERS = frozenset({Role.CENTER.value, Role.ADMIN.value})


def _list(ctx: Context, match: CommandMatch) -> str:
    if ctx.person.role not in VIEWERS:
        ctx.reply(T.REFUSED)
        return "refused:residents"
    # residents enrolled from chat (not the systems whose orders come in by the API)
    enrolled = Person.enrolled_via.is_not(None) & (Person.enrolled_via != Enrolment.SYSTEM)
    scope = ""
    if match.rest:
        grid = ctx.session.scalar(select(Grid).where(
            or_(Grid.name == match.rest, Grid.code == match.rest)).order_by(Grid.id))
        if grid is None:
            ctx.reply(T.NO_GRID.format(name=match.rest))
            return "residents:unknown-grid"
        enrolled = enrolled & Person.grid_id.in_(subtree_ids(ctx.session, [grid.id]))
        scope = T.SCOPE.format(grid=grid.name)
    total = ctx.session.scalar(select(func.count()).select_from(Person).where(enrolled)) or 0
    if not total:
        ctx.reply(T.NONE)
        return "residents:0"
    people = ctx.session.scalars(
        select(Person).where(enrolled)
        .order_by(Person.first_seen_at.desc(), Person.id.desc()).limit(LIST_LIMIT)
    ).all()
    chats = {c.chat_id: c.name for c in ctx.session.scalars(select(GroupChat).where(
        GroupChat.chat_id.in_({p.enrolled_chat_id for p in people if p.enrolled_chat_id})))}
    lines = [T.HEAD.format(total=total, scope=scope, shown=len(people))]
    tz = ctx.services.calendar.tz
    for person in people:
        lines.append(T.LINE.format(
            name=person.name or person.userid,
            grid=person.grid.name if person.grid is not None else T.NO_GRID_YET,
            source=_source(person, chats),
            first_seen=format_time(person.first_seen_at, tz),
            app=T.APP_REACHABLE[person.app_reachable],
        ))
    ctx.reply("\n".join(lines))
    return f"residents:{len(people)}"


def _source(person: Person, chats: dict[str, str]) -> str:
    if person.enrolled_via == Enrolment.GROUP:
        chat = person.enrolled_chat_id or ""
        return T.SOURCE_GROUP.format(group=chats.get(chat) or chat)
    return T.SOURCE_APP if person.enrolled_via == Enrolment.APP else T.SOURCE_AIBOT


def _staff(ctx: Context) -> bool:
    return ctx.person.role != Role.RESIDENT


def resident_list_handlers() -> list[Handler]:
    """The 居民名单 command, for ``handlers.commands`` (others' 居民名单 stays free text)."""
    return [CommandHandler(["居民名单", "居民列表"], _list, usage=T.USAGE, allowed=_staff,
                           help=T.HELP, roles=VIEWERS)]
