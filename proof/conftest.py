"""Fixtures shared by the proof suites; each suite's own fixtures live beside its tests.

The proof suites are slow by design (crawling every route, fuzzing the API, injecting faults),
so they run in their own nox session, ``proof``, which ``python3 dev.py test`` and CI run too.
"""
