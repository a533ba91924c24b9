"""Replies read in the context of a question the bot asked: the rating prompt, "which ticket?".

After 办结 the resident was asked "回复 1 满意 / 2 一般 / 3 不满意" (a pending prompt, see
``store.prompts``). This handler runs before free text is classified, so that "还行吧",
"3 师傅根本没来" or "不满意，问题还在" rate the ticket instead of being ignored as chatter or opening a
new 其他 ticket. It works the same in a group (the resident @-mentions the bot) and 1:1, because
prompts belong to the person, not to the chat.

* One ticket waiting: a reply with a rating (``cases.rating_reply``) rates it; the rest of the
  words are the comment. 不满意 reopens and escalates as the command does.
* Several tickets waiting: the bot asks which one the rating is for (a ``choice`` prompt that
  remembers the rating), answered by the number ("15", "#15") or "都" for all; "#15 满意" names the
  ticket at once. Asking is preferred to guessing: a wrong guess closes the wrong ticket.
* A reply that contradicts itself ("挺好的，就是问题还在", "1 不满意") is asked about again: it is
  about the rating, so it never opens a ticket. Chatter ("好的", "嗯") gets one short re-prompt;
  after that, chatter is treated as if no prompt were pending.
* A reply that is no answer but a new report ("楼道里的灯又坏了") or a question is left to the
  free-text handlers; the prompt stays.

Explicit commands (``评价 12 满意``) run before this handler and clear the prompts they answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

from sqlalchemy import select

from cases import wording as core_texts
from cases.model import Rating, Status
from cases.rating_reply import RatingReply, half_width, read_rating_reply
from handlers.base import CommandMatch, Context, FunctionHandler, Handler
from handlers.resident_commands import rate
from handlers.tickets import find, refused
from notify.wording import conversation as C
from store import prompts
from store.models import Ticket
from store.prompts import PendingPrompt, PromptKind

_HASH_NUMBER = re.compile(r"^\s*#\s*(\d{1,9})(?:\s*号)?[\s,，:：]*")
_BARE_NUMBER = re.compile(r"^\s*(?:工单\s*)?(\d{1,9})(?:\s*号(?:工单)?)?(?!\d)[\s,，:：]*")


class Act(Enum):
    RATE = "rate"
    ASK_WHICH = "ask-which"
    REPROMPT = "reprompt"


@dataclass(frozen=True)
class Answer:
    """What a reply to a pending prompt comes to (the match object of this handler)."""

    act: Act
    live: list[PendingPrompt]
    waiting: list[Ticket]  # tickets awaiting this person's rating, newest first
    targets: list[Ticket] = field(default_factory=list)
    rating: Rating | None = None
    comment: str = ""


def _waiting(ctx: Context, live: list[PendingPrompt]) -> list[Ticket]:
    """The tickets of live rating prompts that still wait for this person's rating."""
    order = [p.ticket_id for p in live if p.kind == PromptKind.RATING and p.ticket_id]
    if not order:
        return []
    tickets = {t.id: t for t in ctx.session.scalars(select(Ticket).where(Ticket.id.in_(order)))}
    return [tickets[n] for n in order if n in tickets
            and tickets[n].status == Status.RESOLVED and tickets[n].reporter_id == ctx.person.id]


def _reference(text: str, waiting: list[Ticket], *, bare: bool) -> tuple[Ticket | None, str]:
    """A ticket named at the start of the reply ("#15 满意"; "15" when asked which) and the rest.

    Outside a "which ticket?" question a bare number is not a reference: "3 不满意" is a rating.
    """
    by_number = {t.id: t for t in waiting}
    for pattern in (_HASH_NUMBER, _BARE_NUMBER) if bare else (_HASH_NUMBER,):
        found = pattern.match(text)
        if found and int(found.group(1)) in by_number:
            return by_number[int(found.group(1))], text[found.end():]
    return None, text


def _check(ctx: Context) -> Answer | None:
    if ctx.message.kind != "text" or not ctx.text or not ctx.prompts_on_record:
        return None
    live = prompts.live_prompts(ctx.session, ctx.person.id, ctx.now)
    if not live:
        return None
    waiting = _waiting(ctx, live)
    if not waiting:
        return None
    choice = next((p for p in live if p.kind == PromptKind.CHOICE), None)
    text = half_width(ctx.message.command_text).strip()
    original = ctx.message.command_text.strip()
    named, rest = _reference(text, waiting, bare=choice is not None)
    said = read_rating_reply(original[len(original) - len(rest):] if named else original)
    if choice is not None:
        answer = _answer_choice(choice, original, named, said, live, waiting)
        if answer is not None:
            return answer
    if named is not None and said is not None and said.clear:
        return Answer(Act.RATE, live, waiting, [named], said.rating, said.comment)
    if said is not None and said.clear:
        if len(waiting) == 1:
            return Answer(Act.RATE, live, waiting, waiting[:1], said.rating, said.comment)
        return Answer(Act.ASK_WHICH, live, waiting, rating=said.rating, comment=said.comment)
    if said is not None or named is not None:
        return Answer(Act.REPROMPT, live, waiting)  # about the rating, but saying two things
    if any(p.reprompted for p in live) or not _chatter(ctx):
        return None  # a new report, a question, or chatter after one re-prompt
    return Answer(Act.REPROMPT, live, waiting)


def _answer_choice(choice: PendingPrompt, original: str, named: Ticket | None,
                   said: RatingReply | None, live: list[PendingPrompt],
                   waiting: list[Ticket]) -> Answer | None:
    """The reply to "which ticket is your rating for?": a number, "都", or a new rating."""
    listed = [t for t in waiting if t.id in choice.data.get("tickets", [])]
    every = next((w for w in C.ALL_WORDS if half_width(original).startswith(w)), None)
    if named is not None and named in listed:
        targets = [named]
    elif every is not None and listed:
        targets = listed
        said = read_rating_reply(original[len(every):])  # "都满意", "都是 3"
    else:
        return None
    if said is not None and said.clear:
        return Answer(Act.RATE, live, waiting, targets, said.rating, said.comment)
    return Answer(Act.RATE, live, waiting, targets, Rating(choice.data["rating"]),
                  str(choice.data.get("comment", "")))


def _chatter(ctx: Context) -> bool:
    """Chatter or a closing remark ("好的", "谢谢"): worth one re-prompt, never a ticket."""
    return ctx.services.classifier.classify(ctx.text).kind in {"chatter", "closing"}


def _handle(ctx: Context, answer: Answer) -> str:
    if answer.act is Act.RATE:
        return _rate(ctx, answer)
    if answer.act is Act.ASK_WHICH:
        return _ask_which(ctx, answer)
    prompts.mark_reprompted(ctx.session, answer.live)
    if len(answer.waiting) == 1:
        ctx.reply(C.REPROMPT_ONE.format(number=answer.waiting[0].id))
    else:
        ctx.reply(C.REPROMPT_MANY.format(count=len(answer.waiting), lines=_lines(ctx, answer),
                                         number=answer.waiting[0].id))
    return "reprompt"


def _rate(ctx: Context, answer: Answer) -> str:
    assert answer.rating is not None
    prompts.forget_choice(ctx.session, ctx.person.id)
    outcomes = []
    for target in answer.targets:
        ticket = find(ctx, CommandMatch("评价", target.id, ""))
        if ticket is None:
            outcomes.append(refused(None))
            continue
        outcomes.append(rate(ctx, ticket, str(answer.rating), answer.comment))
    return ",".join(outcomes)


def _ask_which(ctx: Context, answer: Answer) -> str:
    assert answer.rating is not None
    hours = ctx.services.settings.conversation.choice_prompt_hours
    prompts.ask_choice(
        ctx.session, ctx.person.id,
        {"tickets": [t.id for t in answer.waiting], "rating": str(answer.rating),
         "comment": answer.comment},
        now=ctx.now, expires_at=ctx.now + timedelta(hours=hours))
    ctx.reply(C.ASK_WHICH.format(
        count=len(answer.waiting), lines=_lines(ctx, answer),
        rating=core_texts.RATING_LABELS[answer.rating], number=answer.waiting[0].id))
    return "ask-which"


def _lines(ctx: Context, answer: Answer) -> str:
    name = ctx.services.classifier.category_name
    return "\n".join(C.WAITING_LINE.format(number=t.id, category=name(t.category),
                                           text=t.text[:20]) for t in answer.waiting)


def conversation_handlers() -> list[Handler]:
    """The handler for replies to pending prompts (before free text is classified)."""
    return [FunctionHandler(_check, _handle)]
