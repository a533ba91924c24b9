"""The command line's feature modules, above everything they drive.

Each module has ``add_commands(subparsers)`` for ``bot.py``'s parser; they share
:mod:`cli.common` (settings from ``--config``, a runtime built by the composition root) and
never ``bot.py``'s privates.
"""
