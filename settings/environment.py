"""The environment variables GridBot reads, and the config keys they override.

Secrets stay out of config.yaml: each variable below, when set and not empty, replaces the key it
names (the environment wins over the file), and ``GRIDBOT_API_TOKENS`` (comma-separated) adds API
tokens to ``api.tokens``. The values are validated with the rest of the file, so a bad one is
reported under its config key. ``GRIDBOT_CONFIG`` names the config file itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

# Variable → the config key it overrides.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("database", "url"),
    "REDIS_URL": ("redis", "url"),
    "WECOM_CORP_ID": ("wecom", "corp_id"),
    "WECOM_AGENT_ID": ("wecom", "agent_id"),
    "WECOM_SECRET": ("wecom", "secret"),
    "WECOM_TOKEN": ("wecom", "token"),
    "WECOM_AES_KEY": ("wecom", "encoding_aes_key"),
    "WECOM_API_BASE": ("wecom", "api_base"),
    "AIBOT_TOKEN": ("aibot", "token"),
    "AIBOT_AES_KEY": ("aibot", "encoding_aes_key"),
    "SECRET_KEY": ("console", "secret_key"),
}


def _comma_separated(value: Any) -> Any:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(
        value, str) else value


def _override(variable: str) -> Any:
    section, key = ENV_OVERRIDES[variable]
    return Field(None, validation_alias=variable, description=f"overrides {section}.{key}")


class Environment(BaseSettings):
    """What the environment says about the config (case-sensitive names, blanks ignored)."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore",
                                      frozen=True)

    database_url: str | None = _override("DATABASE_URL")
    redis_url: str | None = _override("REDIS_URL")
    wecom_corp_id: str | None = _override("WECOM_CORP_ID")
    wecom_agent_id: str | None = _override("WECOM_AGENT_ID")
    wecom_secret: str | None = _override("WECOM_SECRET")
    wecom_token: str | None = _override("WECOM_TOKEN")
    wecom_aes_key: str | None = _override("WECOM_AES_KEY")
    wecom_api_base: str | None = _override("WECOM_API_BASE")
    aibot_token: str | None = _override("AIBOT_TOKEN")
    aibot_aes_key: str | None = _override("AIBOT_AES_KEY")
    secret_key: str | None = _override("SECRET_KEY")
    api_tokens: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_separated)] = Field(
        (), validation_alias="GRIDBOT_API_TOKENS", description="added to api.tokens")
    config: Path | None = Field(None, validation_alias="GRIDBOT_CONFIG",
                                description="the config file to read")

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """The process environment, or ``environ`` in its place (tests pass ``{}``)."""
        source = _MappingSource(cls, os.environ if environ is None else environ)
        return cls(_build_sources=((source,), {}))

    def apply(self, document: dict[str, Any]) -> dict[str, Any]:
        """A copy of the parsed config file with these overrides written in."""
        merged = dict(document)
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if field.validation_alias in ENV_OVERRIDES and value is not None:
                section, key = ENV_OVERRIDES[str(field.validation_alias)]
                current = merged.get(section)
                merged[section] = {**(current if isinstance(current, dict) else {}), key: value}
        if self.api_tokens:
            api = merged.get("api") if isinstance(merged.get("api"), dict) else {}
            listed = api.get("tokens") if isinstance(api.get("tokens"), list) else []
            merged["api"] = {**api, "tokens": [*listed, *self.api_tokens]}
        return merged


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping (``os.environ`` or not)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._environ.items()
                if not (self.env_ignore_empty and value == "")}

