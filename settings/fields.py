"""The value types of config.yaml, each rejecting a bad value with a reason in plain words.

They are ``Annotated`` types for the pydantic models of :mod:`settings.schema`: the validators
raise ``ValueError`` with the reason a person reads (``must be a time like 09:00, got '25:00'``),
and each carries the JSON schema an editor needs to check the same value as it is typed.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, WithJsonSchema

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")

# Where GridBot's packages are (the source tree, or site-packages once installed), and those of
# them that ship data files a config may name: the default rules and FAQ, jieba's words.
SHIPPED_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATA = ("rules", "nlp")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("missing or empty")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be text, got {type(value).__name__}")
    return str(value).strip()


def _optional_text(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(value)


def _whole_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a whole number")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"must be a whole number, got {value!r}") from None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return float(value)


def _hhmm(value: Any) -> str:
    text = _text(value)
    if not _HHMM.match(text):
        raise ValueError(f"must be a time like 09:00, got {text!r}")
    return text


def _aes_key(value: Any) -> str:
    text = _text(value)
    if not _AES_KEY.match(text):
        raise ValueError(f"must be 43 letters or digits (WeCom EncodingAESKey), got {len(text)}")
    return text


def _iso_date(value: Any) -> str:
    text = str(value)  # YAML reads an unquoted 2027-01-01 as a date
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a date like 2027-01-01") from None
    return text


def _time_zone(value: Any) -> str:
    name = _text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


def _existing_file(value: str, info: ValidationInfo) -> str:
    """A data file beside the config file or shipped with GridBot (:func:`resolve_file`)."""
    base = (info.context or {}).get("base_dir")
    if base is not None:
        path = resolve_file(Path(base), value)
        if not path.is_file():
            raise ValueError(f"file not found: {path}")
    return value


def resolve_path(base: Path, value: str) -> Path:
    """``value`` as written in config.yaml, relative to the folder of the file."""
    path = Path(value)
    return path if path.is_absolute() else base / path


def resolve_file(base: Path, value: str) -> Path:
    """A data file named in config.yaml: beside the config file, else the one GridBot ships.

    The sample config names ``rules/categories.yaml``, ``rules/faq.yaml`` and
    ``nlp/userdict.txt``; a config copied out of the source tree (an installed GridBot) still
    finds them, and a copy of its own beside the config takes their place.
    """
    path = resolve_path(base, value)
    named = Path(value)
    if path.is_file() or named.is_absolute() or named.parts[0] not in SHIPPED_DATA \
            or ".." in named.parts:
        return path
    shipped = SHIPPED_ROOT / named
    return shipped if shipped.is_file() else path


def one_of(*choices: str) -> Any:
    """Text that must be one of ``choices``; the schema lists them for the editor."""
    wording = " or ".join(choices) if len(choices) == 2 else f"one of {', '.join(choices)}"

    def check(value: Any) -> str:
        text = _text(value)
        if text not in choices:
            raise ValueError(f"must be {wording}")
        return text

    return Annotated[str, BeforeValidator(check),
                     WithJsonSchema({"type": "string", "enum": list(choices)})]


Text = Annotated[str, BeforeValidator(_text), WithJsonSchema({"type": "string", "minLength": 1})]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text),
                         WithJsonSchema({"type": ["string", "null"]})]
WholeNumber = Annotated[int, BeforeValidator(_whole_number), WithJsonSchema({"type": "integer"})]
Count = Annotated[WholeNumber, Field(ge=1)]
Number = Annotated[float, BeforeValidator(_number), WithJsonSchema({"type": "number"})]
Clock = Annotated[str, BeforeValidator(_hhmm),
                  WithJsonSchema({"type": "string", "pattern": _HHMM.pattern})]
AesKey = Annotated[str, BeforeValidator(_aes_key),
                   WithJsonSchema({"type": "string", "pattern": _AES_KEY.pattern})]
IsoDate = Annotated[str, BeforeValidator(_iso_date), WithJsonSchema({"type": "string",
                                                                      "format": "date"})]
TimeZone = Annotated[str, BeforeValidator(_time_zone), WithJsonSchema({"type": "string"})]
ExistingFile = Annotated[Text, AfterValidator(_existing_file)]
OptionalFile = Annotated[OptionalText, AfterValidator(
    lambda value, info: None if value is None else _existing_file(value, info))]
