"""The template engine of contract texts: Jinja2's immutable sandbox, locked down further.

Admins write contract templates, and a template must reach nothing but the values it is given
(:func:`cabinet_core.contract_templates.contract_context`: strings, booleans and lists). On top
of :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` (no attribute starting with ``_``, no
mutation of lists or dicts, ``str.format`` checked):

* autoescape is on, there is no loader (``include``, ``import`` and ``extends`` fail), no
  globals (``range``, ``cycler``, ``joiner``, ``namespace``, ``lipsum``, ``dict``), and no
  ``safe``, ``format``, ``pprint``, ``center``, ``indent`` or ``wordwrap`` filters;
* every placeholder must exist (:class:`jinja2.StrictUndefined`);
* sizes are bounded: ``*`` and ``**`` refuse huge results, ``%`` string formatting and the
  ``format`` methods are refused, a method called with a huge number is refused, a filter's
  result and any template variable longer than the output limit stop the render, and so does
  the output itself;
* time is bounded: the template's own code may run only so many steps (a trace function counts
  the lines executed in the template's frames), so nested loops cannot spin forever.

Every problem becomes :class:`cabinet_core.contract_text.TemplateProblem` with a message for the
admin; the underlying exception's text is only passed on where it names a placeholder or a
syntax error (never a value from the sandbox's internals).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

from cabinet_core.contract_text import MAX_OUTPUT, TemplateProblem
from cabinet_core.errors import N_
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: How many lines of a template's compiled code one render may execute.
MAX_STEPS = 50_000
#: The largest exponent ``**`` accepts.
MAX_EXPONENT = 64
#: Filters a contract has no use for and that could allocate without bound or leak a repr.
_REMOVED_FILTERS = ("safe", "format", "pprint", "center", "indent", "wordwrap", "filesizeformat")
#: Where Jinja2 compiles a template given as a string.
_TEMPLATE_FILE = "<template>"


class _Budget:
    """A trace function that stops a render after :data:`MAX_STEPS` lines of template code,
    or when one of the template's variables grows past the output limit."""

    def __init__(self) -> None:
        self.steps = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if frame.f_code.co_filename != _TEMPLATE_FILE:
            return None
        return self._local

    def _local(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "line":
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise TemplateProblem(N_("The template runs too long (a loop too big?)."))
            for value in frame.f_locals.values():
                if isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT:
                    raise TemplateProblem(N_("The template builds a value that is too big."))
        return self._local


def _too_big(value: Any) -> bool:
    return isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT


def _bounded(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (a filter) refusing to return anything longer than the output limit."""

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if _too_big(result):
            raise SecurityError("result too big")
        return result

    return bounded


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting is not allowed")
        if operator == "**" and isinstance(right, int | float):
            # Jinja2 reads a ** b ** c from the left, so the base can be huge already.
            base_bits = abs(left).bit_length() if isinstance(left, int) else 64
            if abs(right) > MAX_EXPONENT or base_bits * abs(right) > MAX_OUTPUT:
                raise SecurityError("exponent too big")
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if (
                    isinstance(sized, str | list | tuple)
                    and isinstance(count, int)
                    and len(sized) * count > MAX_OUTPUT
                ):
                    raise SecurityError("result too big")
        return super().call_binop(context, operator, left, right)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Jinja2 returns an undefined value that fails only when printed; a list of them
        # (``map(attribute='__class__')``) would print quietly, so refuse at once.
        raise SecurityError("unsafe attribute")

    def call(self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(__obj, "__name__", None) in ("format", "format_map") and isinstance(
            getattr(__obj, "__self__", None), str
        ):
            raise SecurityError("str.format is not allowed")
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and abs(value) > MAX_OUTPUT:
                raise SecurityError("argument too big")
        return super().call(__context, __obj, *args, **kwargs)


def _environment() -> _Sandbox:
    environment = _Sandbox(autoescape=True, undefined=StrictUndefined, loader=None)
    environment.globals.clear()
    for name in _REMOVED_FILTERS:
        environment.filters.pop(name, None)
    for name, function in list(environment.filters.items()):
        environment.filters[name] = _bounded(function)
    return environment


class SandboxEngine:
    """The :class:`cabinet_core.contract_text.TextEngine` cabinet-web registers."""

    key = "jinja2-sandbox"

    def __init__(self) -> None:
        self.environment = _environment()

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        """``source`` filled with ``context``; any problem → :class:`TemplateProblem`."""
        try:
            template = self.environment.from_string(source)
        except TemplateSyntaxError as error:
            raise TemplateProblem(
                N_("Syntax error on line %(line)s: %(detail)s"),
                line=error.lineno,
                detail=error.message or "",
            ) from None
        except Exception:
            raise TemplateProblem(N_("The template cannot be read.")) from None
        budget = _Budget()
        previous = sys.gettrace()
        sys.settrace(budget)
        try:
            parts: list[str] = []
            size = 0
            for part in template.generate(dict(context)):
                size += len(part)
                if size > MAX_OUTPUT:
                    raise TemplateProblem(
                        N_("The rendered contract is longer than %(limit)s characters."),
                        limit=MAX_OUTPUT,
                    )
                parts.append(part)
            return "".join(parts)
        except TemplateProblem:
            raise
        except SecurityError:
            raise TemplateProblem(
                N_("The template uses something the sandbox does not allow.")
            ) from None
        except UndefinedError as error:
            raise TemplateProblem(
                N_("Unknown placeholder: %(detail)s"), detail=str(error.message or "")
            ) from None
        except TemplateSyntaxError as error:
            raise TemplateProblem(
                N_("Syntax error on line %(line)s: %(detail)s"),
                line=error.lineno,
                detail=error.message or "",
            ) from None
        except RecursionError:
            raise TemplateProblem(N_("The template runs too long (a loop too big?).")) from None
        except Exception:
            # include/import/extends without a loader, a wrong type in an expression …: the
            # exception's text may carry values, so only its kind is told.
            raise TemplateProblem(N_("The template cannot be rendered.")) from None
        finally:
            sys.settrace(previous)


__all__ = ["MAX_STEPS", "SandboxEngine"]
