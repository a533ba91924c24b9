"""Config problems in plain words: ``sla.dispatch_days: must be at least 1, got 0``.

:class:`ConfigError` carries every problem found in one run; :func:`problems_of` turns pydantic's
validation errors into them, naming each key by its full path (``roster[3].role``) and suggesting
the key that was probably meant when one is unknown.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from settings.schema import Problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config: ``key`` is the dotted path, ``reason`` says what."""

    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class ConfigError(ValueError):
    """The config is unusable. ``key`` and ``reason`` are the first problem; ``problems`` all."""

    def __init__(self, key: str, reason: str, source: Path | None = None, *,
                 problems: Sequence[Problem] = ()) -> None:
        self.key = key
        self.reason = reason
        self.source = source
        self.problems: tuple[Problem, ...] = tuple(problems) or (Problem(key, reason),)
        super().__init__("\n".join(self.messages()))

    @classmethod
    def of(cls, problems: Sequence[Problem], source: Path | None = None) -> ConfigError:
        """One error for several problems (at least one), in the order they were found."""
        return cls(problems[0].key, problems[0].reason, source, problems=problems)

    def messages(self) -> list[str]:
        """One line per problem: ``config.yaml: wecom.token: missing or empty``."""
        where = f"{self.source}: " if self.source else ""
        return [f"{where}{problem}" for problem in self.problems]


def key_path(loc: Iterable[str | int]) -> str:
    """``("roster", 3, "role")`` → ``roster[3].role``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def problems_of(error: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """Every problem of a failed validation of ``root``, in the order pydantic found them."""
    found: list[Problem] = []
    for detail in error.errors():
        loc = tuple(part for part in detail["loc"] if part != "[key]")
        for sub_loc, reason in _reasons(detail, loc, root):
            found.append(Problem(key_path((*loc, *sub_loc)), reason))
    return found


def _reasons(detail: Any, loc: tuple[str | int, ...],
             root: type[BaseModel]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    kind, ctx, value = detail["type"], detail.get("ctx") or {}, detail.get("input")
    cause = ctx.get("error")
    if isinstance(cause, Problems):
        yield from cause.problems
    elif kind in ("value_error", "assertion_error") and cause is not None:
        yield (), str(cause)
    elif kind == "extra_forbidden":
        yield (), _unknown_key(str(loc[-1]), _model_at(root, loc[:-1]))
    elif kind == "missing" or value is None:
        yield (), "missing section" if _model_at(root, loc) else "missing or empty"
    elif kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        yield (), f"must be at least {limit}, got {value}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        yield (), "must be a mapping"
    elif kind in ("tuple_type", "list_type"):
        yield (), "must be a list"
    elif kind in ("bool_type", "bool_parsing"):
        yield (), "must be true or false"
    else:
        yield (), detail["msg"]


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    known = _known_keys(model) if model else []
    match = difflib.get_close_matches(key, known, n=1)
    if match:
        return f"unknown key; did you mean {match[0]}?"
    return f"unknown key; known keys: {', '.join(known)}" if known else "unknown key"


def _known_keys(model: type[BaseModel]) -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        keys.append(name)
        choices = getattr(field.validation_alias, "choices", ())
        keys.extend(alias for alias in choices if isinstance(alias, str) and alias != name)
    return keys


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The section model that validates the value at ``loc``, if that value is a section."""
    current: Any = root
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step(annotation: Any, part: str | int) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    args = get_args(annotation)
    if get_origin(annotation) in (tuple, list) and args:
        return args[0]
    if get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    return None


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, …]`` → X and ``X | None`` → X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
