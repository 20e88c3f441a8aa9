"""``ksef-emulator``: serve an emulated KSeF 2.0 API over HTTP until interrupted.

:func:`parse_args`, :func:`build`, :func:`banner` and :func:`serve` are public so a host
program can offer the same command under its own name (``cabinet ksef-emulator``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import attrs
import uvicorn

from ksef_emulator.app import create_app
from ksef_emulator.clock import Clock, SystemClock, VirtualClock
from ksef_emulator.core import Emulator, EmulatorConfig

__all__ = [
    "DEMO_BUYER_NIP",
    "DEMO_NIP",
    "ServeOptions",
    "banner",
    "build",
    "main",
    "parse_args",
    "serve",
]

#: The taxpayers a started emulator knows (valid NIPs; KSeF checks checksums on PRD only).
DEMO_NIP = "5265877635"
DEMO_BUYER_NIP = "7010002137"


@attrs.frozen
class ServeOptions:
    """Where to listen and how the emulator behaves."""

    host: str
    port: int
    config: EmulatorConfig
    subjects: tuple[str, ...]
    down: bool = False
    slow_seconds: float = 0.0
    reject_invoices: bool = False
    virtual_clock: bool = False


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"seconds cannot be negative: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {value}")
    return value


def _parser(prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve an emulated KSeF 2.0 API (Polish e-invoices) for tests and demos.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
    parser.add_argument("--port", default=8098, type=_port, help="Port to listen on.")
    parser.add_argument(
        "--public-url",
        help="The server root as clients reach it (pre-signed UPO and export links are built "
        "on it); default http://HOST:PORT, with 127.0.0.1 for a wildcard host.",
    )
    parser.add_argument(
        "--seed",
        default="ksef-emulator",
        help="Derive the keys from this (same certificates on every start); "
        "'random' for fresh keys.",
    )
    parser.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="NIP",
        help="A taxpayer to create with a KSeF token (repeatable).",
    )
    parser.add_argument(
        "--processing-seconds",
        type=_seconds,
        default=2.0,
        help="How long an invoice shows status 150 before its final status.",
    )
    parser.add_argument(
        "--storage-seconds",
        type=_seconds,
        default=0.0,
        help="Delay between the KSeF number and permanent storage.",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="Do not enforce the request-rate limits."
    )
    parser.add_argument(
        "--virtual-clock",
        action="store_true",
        help="Time moves only through POST /_emulator/clock (for scripted end-to-end tests).",
    )
    parser.add_argument("--down", action="store_true", help="Answer every API call with 503.")
    parser.add_argument(
        "--slow",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="Delay every answer by this many seconds.",
    )
    parser.add_argument(
        "--reject-invoices", action="store_true", help="Every invoice fails with status 450."
    )
    return parser


def parse_args(argv: Sequence[str] | None = None, *, prog: str | None = None) -> ServeOptions:
    """The command line as :class:`ServeOptions` (exits 2 on a bad one)."""
    args = _parser(prog).parse_args(argv)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host  # noqa: S104
    config = EmulatorConfig(
        base_url=(args.public_url or f"http://{host}:{args.port}").rstrip("/"),
        seed=None if args.seed == "random" else args.seed,
        processing_seconds=args.processing_seconds,
        storage_seconds=args.storage_seconds,
        rate_limits=not args.no_rate_limits,
    )
    return ServeOptions(
        host=args.host,
        port=args.port,
        config=config,
        subjects=tuple(args.subject) or (DEMO_NIP, DEMO_BUYER_NIP),
        down=args.down,
        slow_seconds=args.slow,
        reject_invoices=args.reject_invoices,
        virtual_clock=args.virtual_clock,
    )


def build(options: ServeOptions) -> tuple[Emulator, dict[str, str]]:
    """The emulator for ``options``, its subjects created; returns it and a KSeF token per
    subject NIP."""
    clock: Clock = VirtualClock() if options.virtual_clock else SystemClock()
    emulator = Emulator(options.config, clock=clock)
    tokens = {}
    for nip in options.subjects:
        emulator.add_subject(nip)
        tokens[nip] = emulator.add_token(nip)
    emulator.set_faults(
        down=options.down,
        slow_seconds=options.slow_seconds,
        reject_invoices=bool(options.reject_invoices),
    )
    return emulator, tokens


def banner(emulator: Emulator, tokens: dict[str, str]) -> str:
    """What the command prints before serving: the base URL and a token per subject."""
    base = emulator.config.base_url.rstrip("/")
    lines = [
        f"KSeF 2.0 emulator at {base}/v2",
        f"  point the cabinet at it: KSeF environment base URL {base}/v2",
        "  authenticate with a KSeF token in the context of its NIP:",
    ]
    for nip, token in tokens.items():
        lines.append(f"    NIP {nip}  token {token}")
    lines += [
        f"  public keys:      {base}/v2/security/public-key-certificates",
        f"  Latarnia status:  {base}/status",
        f"  control API:      {base}/_emulator/state  (faults: POST {base}/_emulator/faults)",
        f"  seed data:        POST {base}/v2/testdata/subject | person | permissions",
    ]
    return "\n".join(lines)


def serve(emulator: Emulator, *, host: str, port: int) -> None:
    """Serve ``emulator`` with uvicorn until interrupted (Ctrl+C)."""
    uvicorn.run(create_app(emulator), host=host, port=port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    """The ``ksef-emulator`` console script."""
    options = parse_args(argv, prog="ksef-emulator")
    emulator, tokens = build(options)
    print(banner(emulator, tokens), flush=True)
    serve(emulator, host=options.host, port=options.port)
