"""The composition root: builds the runtime of every GridBot process from the settings.

``serve``, ``scheduler``, ``worker``, ``demo`` and the CLI all start here: settings in, a
:class:`~runtime.build.Runtime` out (engines, sessions, the services container, the router,
the intake and inbox processor, the sender and its shared token cache). The layers below only
receive what is built here; none of them imports this package.
"""

from runtime.build import Runtime, build_runtime

__all__ = ["Runtime", "build_runtime"]
