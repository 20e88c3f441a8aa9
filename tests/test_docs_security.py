"""docs/security.md names, for each ASVS requirement, the test that proves it: each named test
file (and test function, when given as ``file::name``) exists, so the page cannot point at
proof that is not there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECURITY_MD = ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"`((?:packages|plugins|proof|tests)/[\w./*-]+\.py)(?:::(\w+))?`")


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_named_proof_exists() -> None:
    references = REFERENCE.findall(SECURITY_MD.read_text("utf-8"))
    assert len(references) >= 30  # guards the pattern: the page names that many proofs
    missing = []
    for pattern, function in references:
        files = sorted(ROOT.glob(pattern))
        if not files:
            missing.append(pattern)
        elif function and not any(function in _functions(path) for path in files):
            missing.append(f"{pattern}::{function}")
    assert not missing, "docs/security.md names proofs that do not exist: " + ", ".join(missing)
