"""The text of a contract made from a template: a small, safe HTML subset read into blocks.

A contract template (:mod:`cabinet_core.contract_templates`) renders to HTML limited to
headings (``h1``-``h3``), paragraphs (``p``), numbered and bulleted lists (``ol``/``ul`` with
``li``), ``strong``/``b``, ``em``/``i``, ``br`` and one signature block::

    <signatures><sign>Zamawiający<br>Jan Kowalski</sign><sign>Wykonawca</sign></signatures>

:func:`parse` reads it into :class:`Block` values and refuses anything else (a ``script``, an
attribute, an unknown tag) with :class:`TemplateProblem`, so neither the PDF nor the web preview
ever receives markup it would have to trust: both lay out the blocks. The template engine itself
is a seam (:class:`TextEngine`); cabinet-web registers the sandboxed Jinja2 one, because the core
imports no template library.
"""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from cabinet_core.errors import N_

#: The longest text a template may produce (characters); a bigger one is refused.
MAX_OUTPUT = 200_000
#: The most blocks a contract may have.
MAX_BLOCKS = 2_000

BlockKind = Literal["h1", "h2", "h3", "p", "ol", "ul", "signatures"]

_BLOCKS = frozenset({"h1", "h2", "h3", "p"})
_LISTS = frozenset({"ol", "ul"})
_BOLD = frozenset({"strong", "b"})
_ITALIC = frozenset({"em", "i"})


class TemplateProblem(Exception):
    """A template that cannot be rendered: a syntax error, an unknown placeholder, forbidden
    markup, a sandbox violation or an output over the limits. ``message`` is an English msgid
    (``params`` fill it), shown to the admin at the template's body."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@attrs.frozen(kw_only=True)
class Run:
    """A piece of text with one style; ``text == "\\n"`` is a line break."""

    text: str
    bold: bool = False
    italic: bool = False


@attrs.frozen(kw_only=True)
class Block:
    """One block of a contract: a heading or paragraph (``runs``), a list (``items``, each a
    tuple of runs) or the signature block (``items``: one tuple of runs per signature)."""

    kind: BlockKind
    runs: tuple[Run, ...] = ()
    items: tuple[tuple[Run, ...], ...] = ()

    @property
    def text(self) -> str:
        """The block's plain text (items on their own lines)."""
        if self.runs:
            return "".join(run.text for run in self.runs)
        return "\n".join("".join(run.text for run in item) for item in self.items)


@runtime_checkable
class TextEngine(Protocol):
    """Renders a template's source with a context of plain values (strings, numbers, booleans,
    lists and mappings of them), safely: no access to anything but the context."""

    key: str

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        """The rendered HTML; any problem → :class:`TemplateProblem`."""
        ...


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.stack: list[str] = []
        self.runs: list[Run] = []
        self.items: list[tuple[Run, ...]] = []
        self.block: str | None = None

    # -- structure ------------------------------------------------------------------------
    def _refuse(self, tag: str) -> None:
        raise TemplateProblem(
            N_("The tag <%(tag)s> is not allowed here (line %(line)s)."),
            tag=tag,
            line=self.getpos()[0],
        )

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        if attributes:
            raise TemplateProblem(
                N_("Tags take no attributes (<%(tag)s>, line %(line)s)."),
                tag=tag,
                line=self.getpos()[0],
            )
        parent = self.stack[-1] if self.stack else None
        if tag == "br":
            if self.block is None or (self.block in _LISTS | {"signatures"} and parent in _LISTS):
                self._refuse(tag)
            self.runs.append(Run(text="\n"))
            return
        if tag in _BLOCKS | _LISTS | {"signatures"}:
            if parent is not None:
                self._refuse(tag)
            self.block, self.runs, self.items = tag, [], []
        elif tag == "li":
            if parent not in _LISTS:
                self._refuse(tag)
            self.runs = []
        elif tag == "sign":
            if parent != "signatures":
                self._refuse(tag)
            self.runs = []
        elif tag in _BOLD | _ITALIC:
            if self.block is None or parent in _LISTS | {"signatures"}:
                self._refuse(tag)
        else:
            self._refuse(tag)
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        if tag != "br":
            self._refuse(tag)
        self.handle_starttag(tag, attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":
            return
        if not self.stack or self.stack[-1] != tag:
            raise TemplateProblem(
                N_("The closing tag </%(tag)s> does not match (line %(line)s)."),
                tag=tag,
                line=self.getpos()[0],
            )
        self.stack.pop()
        if tag in ("li", "sign"):
            self.items.append(_trimmed(self.runs))
            self.runs = []
        elif tag in _BLOCKS:
            self._emit(Block(kind=tag, runs=_trimmed(self.runs)))  # type: ignore[arg-type]
        elif tag in _LISTS or tag == "signatures":
            self._emit(Block(kind=tag, items=tuple(self.items)))  # type: ignore[arg-type]

    def _emit(self, block: Block) -> None:
        self.blocks.append(block)
        self.block, self.runs, self.items = None, [], []
        if len(self.blocks) > MAX_BLOCKS:
            raise TemplateProblem(N_("The contract is too long."))

    def handle_data(self, data: str) -> None:
        if not data.strip() and self.block in (None, *_LISTS, "signatures"):
            return
        parent = self.stack[-1] if self.stack else None
        if self.block is None or parent in _LISTS or parent == "signatures":
            raise TemplateProblem(
                N_("Text must be inside a paragraph, heading or list item (line %(line)s)."),
                line=self.getpos()[0],
            )
        text = " ".join(data.split())
        if data[:1].isspace():
            text = " " + text
        if data[-1:].isspace() and text.strip():
            text += " "
        self.runs.append(
            Run(
                text=text,
                bold=any(tag in _BOLD for tag in self.stack),
                italic=any(tag in _ITALIC for tag in self.stack),
            )
        )

    def handle_comment(self, data: str) -> None:
        return

    def handle_decl(self, decl: str) -> None:
        raise TemplateProblem(N_("Declarations are not allowed."))

    def handle_pi(self, data: str) -> None:
        raise TemplateProblem(N_("Processing instructions are not allowed."))

    def unknown_decl(self, data: str) -> None:
        raise TemplateProblem(N_("Declarations are not allowed."))


def _trimmed(runs: list[Run]) -> tuple[Run, ...]:
    """Runs without the blanks around line breaks and at the ends."""
    out: list[Run] = []
    for run in runs:
        if run.text == "\n":
            if out and out[-1].text != "\n":
                out[-1] = attrs.evolve(out[-1], text=out[-1].text.rstrip())
            out.append(run)
            continue
        text = run.text.lstrip() if not out or out[-1].text == "\n" else run.text
        if text:
            out.append(attrs.evolve(run, text=text))
    while out and out[-1].text == "\n":
        out.pop()
    if out:
        out[-1] = attrs.evolve(out[-1], text=out[-1].text.rstrip())
    return tuple(run for run in out if run.text)


def parse(html: str) -> tuple[Block, ...]:
    """The blocks of ``html`` (the safe subset above), or :class:`TemplateProblem`."""
    if len(html) > MAX_OUTPUT:
        raise TemplateProblem(
            N_("The rendered contract is longer than %(limit)s characters."), limit=MAX_OUTPUT
        )
    reader = _Reader()
    reader.feed(html)
    reader.close()
    if reader.stack:
        raise TemplateProblem(N_("The tag <%(tag)s> is never closed."), tag=reader.stack[-1])
    if not reader.blocks:
        raise TemplateProblem(N_("The template produces no text."))
    return tuple(reader.blocks)


__all__ = [
    "MAX_BLOCKS",
    "MAX_OUTPUT",
    "Block",
    "Run",
    "TemplateProblem",
    "TextEngine",
    "parse",
]
