"""Clocks and background jobs: SLA sweeps, reminders, notices, outbox delivery."""
