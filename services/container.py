"""The long-lived pieces every message and job needs, built once per process from settings."""

from __future__ import annotations

from dataclasses import dataclass

from cases.calendar import WorkCalendar
from nlp import Classifier, load_classifier
from settings.model import Settings
from store.roster import RosterCache


@dataclass(frozen=True)
class Services:
    """Settings, the loaded classifier, the working-day calendar and the roster cache."""

    settings: Settings
    classifier: Classifier
    calendar: WorkCalendar
    roster: RosterCache


def build_services(settings: Settings) -> Services:
    """Load the classifier (once per process) and the calendar from ``settings``."""
    classifier = load_classifier(
        settings.classifier.rules_path,
        settings.classifier.faq_path,
        settings.classifier.userdict_path,
        threshold=settings.classifier.threshold,
    )
    calendar = WorkCalendar.from_settings(settings.calendar, settings.sla)
    return Services(settings=settings, classifier=classifier, calendar=calendar,
                    roster=RosterCache())
