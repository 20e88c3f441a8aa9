"""The cabinet's Prometheus metrics (cabinet_core.metrics): per-cabinet registries, PDF renders
counted and timed where every PDF is made (printing.render), sign-in failures by kind."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cabinet_core import Cabinet, Settings, hookimpl
from cabinet_core.entities import Client, Document
from cabinet_core.errors import AuthenticationFailed
from cabinet_core.metrics import Metrics
from cabinet_core.printing import PDF, render
from cabinet_core.rendering import ALL_DOCUMENT_TYPES, Rendered


def value(metrics: Metrics, name: str, **labels: str) -> float:
    """The current value of one sample (0 when it was never counted)."""
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


class Renderer:
    media_type = PDF
    document_types = ALL_DOCUMENT_TYPES

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def render(self, cabinet: Cabinet, document: Document, **kwargs: Any) -> Rendered:
        if self.fail:
            raise RuntimeError("the font is missing")
        return Rendered(content=b"%PDF-1.7", media_type=PDF, filename="x.pdf")


class RendererPlugin:
    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    @hookimpl
    def register_renderers(self, register: Any) -> None:
        register(self.renderer)


def cabinet_with(tmp_path: Path, renderer: Renderer) -> Cabinet:
    return Cabinet(
        Settings(data_dir=tmp_path), plugins=[RendererPlugin(renderer)], load_entrypoints=False
    )


DOCUMENT = Document(client_id=1, doc_type="vat_invoice", issue_date=date(2026, 3, 2))
CLIENT = Client(id=1, name="Alfa sp. z o.o.")


def test_each_cabinet_has_its_own_counts(tmp_path: Path) -> None:
    first = Cabinet(Settings(data_dir=tmp_path / "a"), load_entrypoints=False)
    second = Cabinet(Settings(data_dir=tmp_path / "b"), load_entrypoints=False)
    first.metrics.signin_failures.labels(kind="password").inc()
    assert value(first.metrics, "cabinet_signin_failures_total", kind="password") == 1
    assert value(second.metrics, "cabinet_signin_failures_total", kind="password") == 0
    assert first.metrics is first.metrics


def test_pdf_renders_are_counted_and_timed(tmp_path: Path) -> None:
    cabinet = cabinet_with(tmp_path, Renderer())
    assert render(cabinet, DOCUMENT, CLIENT).content == b"%PDF-1.7"
    metrics = cabinet.metrics
    assert value(metrics, "cabinet_pdf_renders_total", doc_type="vat_invoice", outcome="ok") == 1
    assert value(metrics, "cabinet_pdf_render_duration_seconds_count") == 1


def test_a_failed_render_is_counted_as_an_error(tmp_path: Path) -> None:
    cabinet = cabinet_with(tmp_path, Renderer(fail=True))
    with pytest.raises(RuntimeError):
        render(cabinet, DOCUMENT, CLIENT)
    metrics = cabinet.metrics
    assert value(metrics, "cabinet_pdf_renders_total", doc_type="vat_invoice", outcome="error") == 1
    assert value(metrics, "cabinet_pdf_render_duration_seconds_count") == 0


def test_sign_in_failures_by_kind(tmp_path: Path) -> None:
    with Cabinet(Settings(data_dir=tmp_path, login_attempts=2), load_entrypoints=False) as cab:
        cab.migrate()
        for _ in range(3):
            with pytest.raises(AuthenticationFailed):
                # From one address: its per-account+address delay starts after login_attempts.
                cab.users.authenticate("nobody@example.pl", "wrong-password", remote="203.0.113.7")
        with pytest.raises(AuthenticationFailed):
            cab.tokens.authenticate("not-a-token")
        metrics = cab.metrics
        assert value(metrics, "cabinet_signin_failures_total", kind="password") == 2
        assert value(metrics, "cabinet_signin_failures_total", kind="throttled") == 1
        assert value(metrics, "cabinet_signin_failures_total", kind="api_token") == 1
