"""The contract kit's fixtures (``cabinet``, ``cabinet_plugins``): imported, because pytest
takes ``pytest_plugins`` only from the top-level conftest."""

from cabinet_core.testing import cabinet, cabinet_plugins, cabinet_settings

__all__ = ["cabinet", "cabinet_plugins", "cabinet_settings"]
