"""Configuration: config.yaml plus environment overrides, validated into typed settings."""

from settings.errors import ConfigError, Problem
from settings.loader import load_settings, parse_settings
from settings.model import Settings
from settings.schema import config_schema

__all__ = ["ConfigError", "Problem", "Settings", "config_schema", "load_settings",
           "parse_settings"]
