"""The contract kit's own fixtures do what docs/plugins/testing.md says (the contract suites are
exercised by the packages that pass them)."""

from __future__ import annotations

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.mail import MailError, MailMessage
from cabinet_core.mailers import SmtpMailer
from cabinet_core.settings import Settings, SmtpSettings
from cabinet_core.storage import Store
from cabinet_core.sync import Topic, decode_payload
from cabinet_core.testing import (
    SmtpSink,
    cabinet,
    cabinet_plugins,
    cabinet_settings,
    postgres_url,
    sample_messages,
    smtp_sink,
)

# The kit's fixtures, imported: pytest takes ``pytest_plugins`` only from a top-level conftest.
__all__ = ["cabinet", "cabinet_plugins", "cabinet_settings", "postgres_url", "smtp_sink"]

MESSAGE = MailMessage(to=("klient@alfa.example",), subject="Zażółć", body="Treść\n", language="pl")


class Marker:
    """A plugin object the test cabinet registers."""


MARKER = Marker()


class TestACabinetWithOverrides:
    """Overriding the kit's fixtures in a test class (as a plugin's tests do)."""

    @pytest.fixture
    def cabinet_settings(self, cabinet_settings: Settings) -> Settings:
        return attrs.evolve(cabinet_settings, default_language="en")

    @pytest.fixture
    def cabinet_plugins(self) -> list[object]:
        return [MARKER]

    def test_is_migrated_with_the_overridden_settings_and_plugins(
        self,
        cabinet: Cabinet,
    ) -> None:
        assert cabinet.settings.default_language == "en"
        assert cabinet.pm.is_registered(MARKER)
        assert str(cabinet.settings.data_dir) in cabinet.settings.effective_database_url
        with cabinet.store.transaction(readonly=True) as tx:
            assert tx.list_clients() == []


def test_sample_messages_cover_every_topic_with_payloads_that_decode(
    cabinet: Cabinet,
) -> None:
    messages = sample_messages(cabinet)
    assert set(messages) == set(Topic)
    for message in messages.values():
        decode_payload(message)
    assert len({message.id for message in messages.values()}) == len(Topic)


def test_the_smtp_sink_keeps_what_it_receives_and_can_refuse(smtp_sink: SmtpSink) -> None:
    mailer = SmtpMailer(SmtpSettings(host=smtp_sink.host, port=smtp_sink.port, sender="a@b.pl"))
    mailer.send(MESSAGE)
    assert smtp_sink.arrived.wait(5)
    [received] = smtp_sink.received
    assert received.recipients == ("klient@alfa.example",)
    assert received.message["Subject"] == "Zażółć"
    smtp_sink.refuse = "550 mailbox unavailable"
    with pytest.raises(MailError):
        mailer.send(MESSAGE)
    assert len(smtp_sink.received) == 1


@pytest.mark.postgres
def test_the_throwaway_postgres_database_takes_a_cabinet(postgres_url: str) -> None:
    store = Store.from_url(postgres_url)
    try:
        store.migrate()
        with store.transaction(readonly=True) as tx:
            assert tx.list_clients() == []
    finally:
        store.close()
