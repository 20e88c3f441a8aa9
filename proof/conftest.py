"""Fixtures shared by the proof suites; each suite's own fixtures live beside its tests.

The proof suites are slow by design (crawling every route, fuzzing the API, injecting faults),
so they run in their own nox session, ``proof``, which ``python3 dev.py test`` and CI run too.
"""

import sys
from pathlib import Path

# The load suite drives the load benchmark's workload (bench/load.py) for a short run: the
# repository root makes ``bench`` importable, as it is for ``python -m bench``.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The Bitrix24 fault suites share the plugin tests' backlog kit (``backlog``, ``emulated``):
# one rig for the 60-document reliability tests and the 2,000-document proof.
BITRIX_TESTS = ROOT / "packages" / "cabinet-bitrix" / "tests"
if str(BITRIX_TESTS) not in sys.path:
    sys.path.append(str(BITRIX_TESTS))
