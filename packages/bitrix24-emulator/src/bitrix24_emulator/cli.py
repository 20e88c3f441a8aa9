"""``bitrix24-emulator``: serve an emulated Bitrix24 portal over HTTP (REST, OAuth, events and
the ``/_emulator/`` control API) until interrupted.

:func:`parse_args`, :func:`banner` and :func:`serve` are public so that a host program can offer
the same command under its own name with its own lines added to the banner
(``cabinet bitrix-emulator`` does).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import attrs
import uvicorn

from bitrix24_emulator.clock import VirtualClock
from bitrix24_emulator.core import FAULT_PROFILES, Emulator, EmulatorConfig
from bitrix24_emulator.limits import PLANS

__all__ = ["ServeOptions", "banner", "main", "parse_args", "serve"]


@attrs.frozen
class ServeOptions:
    """Where to listen, and the portal to serve there (its ``portal_url`` is that address):
    its config, whether it runs on a virtual clock (moved by ``POST /_emulator/clock``) and
    the fault profiles it starts with."""

    host: str
    port: int
    config: EmulatorConfig
    virtual_clock: bool = False
    fault_profiles: tuple[str, ...] = ()

    def emulator(self) -> Emulator:
        """The emulator these options describe."""
        clock = VirtualClock() if self.virtual_clock else None
        emulator = Emulator(self.config, clock=clock)
        for profile in self.fault_profiles:
            emulator.apply_profile(profile)
        return emulator


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"seconds cannot be negative: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    # Port 0 would listen somewhere the portal's own URLs (webhook, OAuth) do not name.
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {value}")
    return value


def _parser(prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve an emulated Bitrix24 portal (REST, OAuth, events) for tests and demos.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
    parser.add_argument("--port", default=8099, type=_port, help="Port to listen on.")
    parser.add_argument(
        "--plan",
        choices=sorted(PLANS),
        default="standard",
        help="Request-rate limits: burst 50 at 2/s, or 250 at 5/s (unlimited: none, for "
        "measuring the emulator itself).",
    )
    parser.add_argument(
        "--write-seconds",
        default=0.0,
        type=_seconds,
        help="Simulated server time of one CRM write.",
    )
    parser.add_argument(
        "--read-seconds", default=0.0, type=_seconds, help="Simulated server time of one read."
    )
    parser.add_argument(
        "--batch-seconds",
        default=None,
        type=_seconds,
        help="Simulated server time of a whole batch, whatever it holds.",
    )
    parser.add_argument(
        "--operating-limit",
        default=480.0,
        type=_seconds,
        help="Server seconds a method may use per credential in 10 minutes before it is "
        "refused with 429 OPERATION_TIME_LIMIT.",
    )
    parser.add_argument(
        "--operating-mode",
        choices=["documented", "batch"],
        default="documented",
        help="Charge a batch's commands to their own methods (as documented) or to batch.",
    )
    parser.add_argument(
        "--virtual-clock",
        action="store_true",
        help="Run on a virtual clock that moves only by POST /_emulator/clock (and simulated "
        "server time): token lifetimes and limits without waiting.",
    )
    parser.add_argument(
        "--fault-profile",
        action="append",
        choices=sorted(FAULT_PROFILES),
        default=[],
        help="Start with this profile's recurring faults (repeatable).",
    )
    parser.add_argument("--webhook-token", help="The webhook's secret (random if unset).")
    parser.add_argument("--client-id", help="The app's client id (random if unset).")
    parser.add_argument("--client-secret", help="The app's client secret (random if unset).")
    return parser


def parse_args(argv: Sequence[str] | None = None, *, prog: str | None = None) -> ServeOptions:
    """The command line as :class:`ServeOptions`; a bad one prints the usage and exits with
    status 2, ``--help`` prints the options (under ``prog``) and exits with 0."""
    args = _parser(prog).parse_args(argv)
    config = EmulatorConfig(
        portal_url=f"http://{args.host}:{args.port}",
        plan=PLANS[args.plan],
        read_seconds=args.read_seconds,
        write_seconds=args.write_seconds,
        batch_seconds=args.batch_seconds,
        operating_limit=args.operating_limit,
        operating_mode=args.operating_mode,
        # A served portal posts its events from a queue after the answer, as Bitrix24 does.
        deliver_events_inline=False,
    )
    # Fixed credentials let a restarted emulator keep answering a client configured for it.
    if args.webhook_token:
        config.webhook_token = args.webhook_token
    if args.client_id:
        config.client_id = args.client_id
    if args.client_secret:
        config.client_secret = args.client_secret
    return ServeOptions(
        host=args.host,
        port=args.port,
        config=config,
        virtual_clock=args.virtual_clock,
        fault_profiles=tuple(args.fault_profile),
    )


def banner(emulator: Emulator) -> str:
    """What the command prints before serving: where the portal is, its webhook URL and the
    local app's credentials."""
    base = emulator.config.portal_url.rstrip("/")
    return "\n".join(
        [
            f"Bitrix24 emulator at {base}/ ({emulator.config.plan.name} plan, operating limit "
            f"{emulator.config.operating_limit:g} s"
            + (", virtual clock" if isinstance(emulator.clock, VirtualClock) else "")
            + (
                f", faults: {', '.join(sorted({f.kind for f in emulator.faults}))}"
                if emulator.faults
                else ""
            )
            + ")",
            f"  inbound webhook:  {emulator.webhook_url}",
            f"  app client_id:    {emulator.app.client_id}",
            f"  app client_secret: {emulator.app.client_secret}",
            f"  OAuth token URL:  {base}/oauth/token/",
            f"  control API:      {base}/_emulator/state",
        ]
    )


def serve(emulator: Emulator, *, host: str, port: int) -> None:
    """Serve ``emulator`` on ``host:port`` with uvicorn until interrupted (Ctrl+C)."""
    uvicorn.run(emulator.asgi(), host=host, port=port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    """The ``bitrix24-emulator`` console script."""
    options = parse_args(argv, prog="bitrix24-emulator")  # also under python -m
    emulator = options.emulator()
    print(banner(emulator), flush=True)
    serve(emulator, host=options.host, port=options.port)
