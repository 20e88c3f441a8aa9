"""``python -m bitrix24_emulator``: the same as the ``bitrix24-emulator`` command."""

from bitrix24_emulator.cli import main

main()
