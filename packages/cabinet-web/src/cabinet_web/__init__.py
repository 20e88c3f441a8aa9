"""cabinet-web: the reference client-cabinet server (Starlette), its ``serve`` and ``demo``
commands, and the public web kit for plugins (:mod:`cabinet_web.kit`).

``create_app(cabinet)`` serves one :class:`cabinet_core.Cabinet`; the pages, the JSON API under
``/api/v1`` and the commands are registered through hooks (:mod:`cabinet_web.hookspecs` and the
core's ``register_commands``), so plugins extend all three the same way the built-ins do.
"""

from cabinet_web.app import create_app

__all__ = ["create_app"]
