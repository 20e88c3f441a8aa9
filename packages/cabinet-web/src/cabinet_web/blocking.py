"""Blocking work (the services, the database) run off the event loop, in the process's
worker threads.

The web process hands its blocking calls to the event loop's default executor, a
:class:`~concurrent.futures.ThreadPoolExecutor` of ``CABINET_WEB_THREADS`` threads that the
app sets at start (:func:`use_threads`), with the caller's context variables (the request id
and origin the logs and the audit trail read). It replaced Starlette's ``run_in_threadpool``
(anyio's worker threads): that hands each call over through a :class:`queue.Queue` and its
Python-level condition variables, which under the load benchmark took a tenth of the web
process's time, where the executor's queue is implemented in C (docs/performance.md, "Load").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run_blocking", "use_threads"]


async def run_blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a worker thread, awaited; context variables carried."""
    return await asyncio.to_thread(func, *args, **kwargs)


def use_threads(threads: int) -> None:
    """Run the running loop's blocking calls in at most ``threads`` threads (the database pool
    keeps a connection for each)."""
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cabinet-web")
    asyncio.get_running_loop().set_default_executor(executor)
