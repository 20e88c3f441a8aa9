"""``python -m bench``: run the benchmarks, save raw results, print the ratios."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import core, pdf

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    results = core.run() + pdf.run()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"when": stamp, "python": platform.python_version(), "results": results}
    (RESULTS / f"core-{stamp}.json").write_text(json.dumps(record, indent=2))
    for row in results:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
