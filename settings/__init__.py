"""Configuration: config.yaml plus environment secrets, validated into typed settings."""

from settings.loader import ConfigError, load_settings, parse_settings
from settings.model import Settings

__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]
