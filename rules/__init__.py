"""The default keyword rules (``categories.yaml``) and FAQ (``faq.yaml``), shipped as package data.

No code: a package only so that an installed GridBot carries these files; config.yaml names them
(``rules/categories.yaml``) and :func:`settings.fields.resolve_file` finds them when installed.
"""
