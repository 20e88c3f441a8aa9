"""``python -m ksef_emulator``."""

from ksef_emulator.cli import main

main()
