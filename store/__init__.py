"""Persistence: SQLAlchemy models, engines and sessions, migrations. Nothing here decides policy."""
