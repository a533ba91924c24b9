"""Imports every module that defines tables, so ``Base.metadata`` knows the whole schema."""

import store.api_clients  # noqa: F401
import store.correction_models  # noqa: F401
import store.models  # noqa: F401
import store.notice_models  # noqa: F401
import store.prompts  # noqa: F401
import store.sla  # noqa: F401
