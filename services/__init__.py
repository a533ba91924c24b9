"""The shared services container: the long-lived pieces every message and job needs.

It sits above ``nlp`` and ``cases`` (it loads the classifier and the working-day calendar) and
below every layer that uses it (``notify``, ``handlers``, ``schedules``), so none of them has
to import another sideways or upward to reach it.
"""
