"""The cabinet plugin entry point (``[project.entry-points.cabinet]``).

Placeholder so the entry point imports while the client is built on its own branch; the
plugin's hooks (sending, receiving, settings pages) replace this module.
"""
