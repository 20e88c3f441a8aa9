"""cabinet-core's README shows embedding the core in a few lines: the example runs as printed
(with the core alone, no plugin) and prints what its comments say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_embedding_example_runs_and_prints_what_it_says(tmp_path: Path) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
    script = tmp_path / "embed.py"
    script.write_text(example, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABINET_")}
    env["CABINET_DISABLE_PLUGINS"] = "*"  # the core's own built-ins only
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    today = date.today()
    number = f"FV/1/{today.month}/{today.year}"
    # Each printed line is shown in the comment that starts with "# FV" or "# [".
    documented = [
        shown.replace("FV/1/12/2026", number)
        for shown in re.findall(r"# ((?:FV/|\[).*)$", example, re.MULTILINE)
    ]
    assert done.stdout.splitlines() == documented
    assert (tmp_path / "cabinet-data" / "cabinet.sqlite3").exists()
