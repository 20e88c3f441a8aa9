"""cabinet-web: the reference client-cabinet server (Starlette) and the ``cabinet`` command line.

``create_app(cabinet)`` serves one :class:`cabinet_core.Cabinet`; the pages, the JSON API under
``/api/v1`` and the CLI commands are registered through the web hooks in
:mod:`cabinet_web.hookspecs`, so plugins extend all three the same way the built-ins do.
"""

from cabinet_web.app import create_app

__all__ = ["create_app"]
