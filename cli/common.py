"""What every command shares: the settings named by ``--config`` and a runtime to act with."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from settings import Settings, load_settings

if TYPE_CHECKING:
    from runtime.build import Runtime


def settings_from(args: argparse.Namespace) -> Settings:
    """The validated settings of the config file given by ``--config``."""
    return load_settings(args.config)


def open_runtime(args: argparse.Namespace) -> Runtime:
    """A runtime on an up-to-date database whose roster is synced from the config."""
    # imported here: ``bot.py --help`` and ``check-config`` need not load the whole product
    from runtime.build import build_runtime
    from runtime.database import prepare_database

    settings = settings_from(args)
    engine = prepare_database(settings, migrate=False)
    return build_runtime(settings, engine=engine)
