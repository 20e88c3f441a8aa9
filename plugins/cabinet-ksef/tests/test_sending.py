"""The ``"ksef"`` subscriber against a scripted KSeF and an in-memory port: each step, the
exactly-once look-up after a crash, offline24 and the recovery, rate limits."""

from __future__ import annotations

import datetime as dt

import pytest
from cabinet_core.crm import DeliveryError
from cabinet_core.errors import ValidationError
from cabinet_core.ksef.submission import KsefMode, KsefState
from cabinet_ksef.api import CertificateCredentials, InvoiceStatus, TokenCredentials
from cabinet_ksef.connections import Connections
from cabinet_ksef.credentials import CredentialVault
from cabinet_ksef.sending import (
    SEND_LIMITS,
    SLOT_GUARD,
    KsefSender,
    Paced,
    SendWindow,
    invoice_facts,
    next_business_day,
)
from cabinet_ksef.settings import KsefSettings
from plugin_fakes import (
    SELLER_NIP,
    FakeClient,
    FakeKsef,
    FakePort,
    Interrupted,
    b64hash,
    certificate_pair,
    invoice_xml,
)

SETTINGS = KsefSettings.from_config({"base_url": "http://ksef.test/v2"}, secret_key="s3cret")


def make(
    *, offline_after: int = 3, certificate: bool = False
) -> tuple[KsefSender, FakePort, FakeKsef]:
    port, ksef = FakePort(), FakeKsef()
    port.add_client(1)
    settings = KsefSettings.from_config(
        {"base_url": "http://ksef.test/v2", "offline_after": str(offline_after)},
        secret_key="s3cret",
    )
    sender = KsefSender(
        port,
        settings,
        Connections(ksef.client, port, port.now),
        probe=lambda base: ksef.client(base).public_keys(),
    )
    if certificate:
        cert, key, _, _ = certificate_pair()
        credentials: TokenCredentials | CertificateCredentials = CertificateCredentials(
            context_nip=SELLER_NIP, certificate_pem=cert, private_key_pem=key
        )
    else:
        credentials = TokenCredentials(
            context_nip=SELLER_NIP, token="20261201-EC-TOKEN|nip-5265877635|abc"
        )
    sender.vault.keep(1, credentials, now=port.now(), valid_until=None)
    return sender, port, ksef


def step(sender: KsefSender, document_id: int) -> DeliveryError | None:
    try:
        sender.step(document_id)
    except DeliveryError as exc:
        return exc
    return None


def test_an_issued_invoice_is_sent_then_accepted_with_its_ksef_number_and_upo() -> None:
    sender, port, ksef = make()
    port.issue(10)

    waiting = step(sender, 10)
    assert waiting is not None and waiting.retry_after == SETTINGS.poll_seconds
    sent = port.submission(10)
    assert sent is not None and sent.state is KsefState.SENT
    assert sent.invoice_reference == ksef.sent[0][1]
    assert ksef.sent[0][3] is False  # online

    assert step(sender, 10) is None
    accepted = port.submission(10)
    assert accepted is not None and accepted.state is KsefState.ACCEPTED
    assert accepted.ksef_number and accepted.ksef_number.startswith(SELLER_NIP)
    assert port.upos[10].startswith(b"<Potwierdzenie>")
    [code] = accepted.verification
    assert code.label == accepted.ksef_number and code.kind == "invoice"
    assert (
        code.url
        == f"http://ksef.test/invoice/{SELLER_NIP}/07-12-2026/" + code.url.rsplit("/", 1)[1]
    )
    # A late duplicate message changes nothing.
    assert step(sender, 10) is None and len(ksef.sent) == 1


def test_one_session_serves_many_invoices() -> None:
    sender, port, ksef = make()
    for document_id in (1, 2, 3):
        port.issue(document_id)
        step(sender, document_id)
    assert ksef.sessions_opened == 1 and ksef.authentications == 1
    assert {s for s, _r, _x, _o in ksef.sent} == {ksef.sent[0][0]}
    assert port.client_state(1, "sessions") == [ksef.sent[0][0]]


def test_a_pending_status_is_asked_again_later_without_blocking() -> None:
    sender, port, ksef = make()
    port.issue(1)
    step(sender, 1)
    reference = ksef.sent[0][1]
    ksef.statuses[reference] = [
        InvoiceStatus(150, "Trwa przetwarzanie", (), None, None, None, None)
    ]
    again = step(sender, 1)
    assert again is not None and "processing" in str(again)
    assert port.submission(1).state is KsefState.SENT  # type: ignore[union-attr]
    assert step(sender, 1) is None
    assert port.submission(1).state is KsefState.ACCEPTED  # type: ignore[union-attr]


def test_a_rejected_invoice_goes_back_with_ksefs_code_and_words() -> None:
    sender, port, ksef = make()
    port.issue(7, xml=invoice_xml("FV/BAD/2026"))
    ksef.verdict["FV/BAD/2026"] = 450
    step(sender, 7)
    assert step(sender, 7) is None
    rejected = port.submission(7)
    assert rejected is not None and rejected.state is KsefState.REJECTED
    assert rejected.error_code == 450
    assert "semantyki" in rejected.error_description
    assert rejected.error_details == ("The element 'Adnotacje' has invalid child element",)


def test_killed_between_send_and_store_the_invoice_is_found_by_hash_not_sent_twice() -> None:
    sender, port, ksef = make()
    port.issue(5)
    port.fail_mark_sent = 1
    with pytest.raises(Interrupted):
        sender.step(5)
    assert len(ksef.sent) == 1
    assert port.submission(5).state is KsefState.QUEUED  # type: ignore[union-attr]
    # A new worker (nothing cached) takes the message again.
    restarted = KsefSender(port, sender.settings, Connections(ksef.client, port, port.now))
    waiting = step(restarted, 5)
    assert waiting is not None and "interrupted" in str(waiting)
    assert len(ksef.sent) == 1, "the invoice must not reach KSeF twice"
    sent = port.submission(5)
    assert sent is not None and sent.invoice_reference == ksef.sent[0][1]
    assert port.client_state(1, "inflight.5") is None
    assert step(restarted, 5) is None
    assert port.submission(5).state is KsefState.ACCEPTED  # type: ignore[union-attr]


def test_an_in_flight_marker_without_a_send_means_sending_now() -> None:
    sender, port, ksef = make()
    port.issue(6)
    xml_hash = b64hash(port.xml[6])
    port.set_client_state(
        1, "inflight.6", {"hash": xml_hash, "session": "20261207-SO-0000000009-00"}
    )
    step(sender, 6)
    assert len(ksef.sent) == 1
    assert port.submission(6).state is KsefState.SENT  # type: ignore[union-attr]


def test_ksef_down_the_invoice_goes_offline24_then_is_sent_once_on_recovery() -> None:
    sender, port, ksef = make(offline_after=2, certificate=True)
    port.issue(3)
    ksef.down = True
    first = step(sender, 3)
    assert first is not None and port.submission(3).state is KsefState.QUEUED  # type: ignore[union-attr]
    assert step(sender, 3) is None  # the second failure: offline24, the message is done
    offline = port.submission(3)
    assert offline is not None and offline.state is KsefState.OFFLINE
    assert offline.mode is KsefMode.OFFLINE
    kinds = {(code.kind, code.label) for code in offline.verification}
    assert kinds == {("invoice", "OFFLINE"), ("certificate", "CERTYFIKAT")}
    certificate_url = next(c.url for c in offline.verification if c.kind == "certificate")
    assert f"/certificate/Nip/{SELLER_NIP}/{SELLER_NIP}/" in certificate_url
    assert port.client_state(1, "last_error")["message"].startswith("KSeF 503")

    # Still down: the recovery pass re-queues nothing.
    assert sender.recovery_pass() == []
    ksef.down = False
    assert sender.recovery_pass() == [3]
    step(sender, 3)
    assert [offline_flag for *_rest, offline_flag in ksef.sent] == [True]
    assert step(sender, 3) is None
    accepted = port.submission(3)
    assert accepted is not None and accepted.state is KsefState.ACCEPTED
    labels = {(c.kind, c.label) for c in accepted.verification}
    assert labels == {("invoice", accepted.ksef_number), ("certificate", "CERTYFIKAT")}
    # Recovery again (e.g. the old message) finds nothing left to send.
    assert sender.recovery_pass() == [] and len(ksef.sent) == 1


def test_a_token_client_offline_gets_kod_one_only() -> None:
    sender, port, ksef = make(offline_after=1)
    port.issue(4)
    ksef.down = True
    assert step(sender, 4) is None
    offline = port.submission(4)
    assert offline is not None and [c.label for c in offline.verification] == ["OFFLINE"]


def test_an_outage_latarnia_announces_goes_offline_at_the_first_failure() -> None:
    sender, port, ksef = make(offline_after=3)
    port.issue(5)
    ksef.down = True
    ksef.latarnia = "FAILURE"
    assert step(sender, 5) is None  # no three attempts: the failure is announced
    offline = port.submission(5)
    assert offline is not None and offline.state is KsefState.OFFLINE
    assert offline.attempts == 1
    assert "announced in Latarnia: FAILURE #7: Awaria KSeF" in offline.error_description
    # The emulator's (or any configured base URL's) Latarnia is its root.
    assert ksef.latarnia_reads == ["http://ksef.test"]


def test_latarnia_alone_never_makes_an_invoice_offline() -> None:
    sender, port, ksef = make(offline_after=3)
    port.issue(6)
    ksef.latarnia = "TOTAL_FAILURE"  # stale, as TEST's was for months
    step(sender, 6)
    assert port.submission(6).state is KsefState.SENT  # type: ignore[union-attr]
    assert ksef.latarnia_reads == []  # not even asked while the API answers


def test_latarnia_not_answering_keeps_the_attempts_rule_and_is_read_once_a_while() -> None:
    sender, port, ksef = make(offline_after=2)
    clock = [0.0]
    sender._monotonic = lambda: clock[0]
    port.issue(7)
    ksef.down = True
    ksef.latarnia = None
    assert step(sender, 7) is not None
    assert port.submission(7).state is KsefState.QUEUED  # type: ignore[union-attr]
    assert step(sender, 7) is None
    assert port.submission(7).state is KsefState.OFFLINE  # type: ignore[union-attr]
    assert len(ksef.latarnia_reads) == 1  # its answer is kept five minutes


def test_rate_limited_waits_as_long_as_ksef_says() -> None:
    sender, port, ksef = make()
    port.issue(1)
    ksef.rate_limited = 42.0
    error = step(sender, 1)
    assert error is not None and error.retry_after == 42.0
    assert error.deferred  # the attempt is given back: waiting out a limit never fails it
    assert port.submission(1).state is KsefState.QUEUED  # type: ignore[union-attr]


def test_no_credentials_waits_and_says_so() -> None:
    sender, port, _ksef = make()
    port.add_client(2, nip="7010002137")
    port.issue(9, client_id=2)
    error = step(sender, 9)
    assert error is not None and error.retry_after == 3600
    assert "credentials" in port.client_state(2, "last_error")["message"]


def test_poll_pass_moves_sent_invoices_whose_messages_gave_up() -> None:
    sender, port, _ksef = make()
    port.issue(1)
    port.issue(2)
    step(sender, 1)
    step(sender, 2)
    assert sender.poll_pass() == 2
    assert {port.submission(i).state for i in (1, 2)} == {KsefState.ACCEPTED}  # type: ignore[union-attr]


def test_the_send_window_keeps_below_ksefs_limits() -> None:
    window = SendWindow(((1.0, 2), (60.0, 3)))
    window.take(0.0)
    window.take(0.1)
    with pytest.raises(Paced) as per_second:
        window.take(0.2)
    # Just past the moment the window frees (SLOT_GUARD), never on its edge.
    assert per_second.value.wait == pytest.approx(0.8 + SLOT_GUARD)
    window.take(1.5)
    with pytest.raises(Paced) as per_minute:
        window.take(2.0)
    assert per_minute.value.wait == pytest.approx(58.0 + SLOT_GUARD)
    window.take(61.0)


def test_a_burst_gets_a_slot_each_so_every_invoice_comes_back_once() -> None:
    import heapq

    window = SendWindow()
    due = [(0.0, key) for key in range(400)]
    heapq.heapify(due)
    attempts: dict[int, int] = {}
    sent: list[float] = []
    while due:
        now, key = heapq.heappop(due)
        attempts[key] = attempts.get(key, 0) + 1
        try:
            window.take(now, key)
        except Paced as paced:
            heapq.heappush(due, (now + paced.wait, key))
            continue
        sent.append(now)
    # Paced once at most: the outbox's ten attempts are never spent waiting for a turn.
    assert max(attempts.values()) == 2 and len(sent) == 400
    for seconds, allowed in SEND_LIMITS:
        for i, moment in enumerate(sent):
            assert sum(1 for t in sent[: i + 1] if t > moment - seconds) <= allowed
    # 400 sends at 170 an hour: the last 60 at 28 a minute, early in the third hour.
    assert 2 * 3600 <= sent[-1] - sent[0] <= 2 * 3600 + 190


def test_a_send_without_a_slot_queues_behind_those_with_one() -> None:
    window = SendWindow(((1.0, 1),))
    window.take(0.0, 1)
    with pytest.raises(Paced) as second:
        window.take(0.0, 2)
    assert second.value.wait == pytest.approx(1.0 + SLOT_GUARD)
    # A newcomer at 1.0 does not take the slot kept for 2: it gets the next one.
    with pytest.raises(Paced) as newcomer:
        window.take(1.0, 3)
    assert newcomer.value.wait == pytest.approx(1.0 + 2 * SLOT_GUARD)
    window.take(1.0 + SLOT_GUARD, 2)
    window.take(2.0 + 2 * SLOT_GUARD, 3)


def test_paced_sends_are_retried_after_the_window() -> None:
    sender, port, ksef = make()
    clock = [0.0]
    sender._monotonic = lambda: clock[0]
    for document_id in range(1, 11):
        port.issue(document_id)
    errors = [step(sender, document_id) for document_id in range(1, 11)]
    assert len(ksef.sent) == 9  # 9 a second, one below KSeF's 10
    assert errors[-1] is not None and "paced" in str(errors[-1])


def test_offline_deadline_is_the_next_business_day() -> None:
    assert next_business_day(dt.date(2026, 12, 4)) == dt.date(2026, 12, 7)  # Friday → Monday
    assert next_business_day(dt.date(2026, 12, 23)) == dt.date(2026, 12, 28)  # holidays
    assert invoice_facts(invoice_xml(issued="2026-12-01")) == (SELLER_NIP, dt.date(2026, 12, 1))


def test_credentials_are_not_readable_in_the_state() -> None:
    _sender, port, _ksef = make()
    sealed = port.client_state(1, "credentials")
    assert "TOKEN" not in sealed and (1, "credentials") in port.secret_keys
    assert CredentialVault(SETTINGS.credentials_key, port).credentials(1) is not None


def test_an_idle_session_is_closed_and_the_next_invoice_opens_a_new_one() -> None:
    sender, port, ksef = make()
    port.issue(1)
    step(sender, 1)
    assert sender.connections.close_idle(dt.timedelta(minutes=10)) == []  # just used
    port.clock += dt.timedelta(minutes=11)
    assert sender.connections.close_idle(dt.timedelta(minutes=10)) == [1]
    assert ksef.sessions_closed == [ksef.sent[0][0]]
    # The invoice sent in it is still polled there; a new one goes into a new session.
    assert step(sender, 1) is None
    port.issue(2)
    step(sender, 2)
    assert ksef.sessions_opened == 2 and ksef.sent[1][0] != ksef.sent[0][0]


def test_recovery_requeues_a_document_at_most_every_half_hour() -> None:
    sender, port, ksef = make(offline_after=1)
    port.issue(1)
    ksef.down = True
    step(sender, 1)
    ksef.down = False
    assert sender.recovery_pass() == [1]
    # Its message has not run yet (or failed for another reason): not re-queued again at once.
    assert sender.recovery_pass() == []
    port.clock += dt.timedelta(minutes=31)
    assert sender.recovery_pass() == [1]
    assert port.requeued == [1, 1]


def test_recovery_leaves_clients_without_credentials_alone() -> None:
    sender, port, _ksef = make()
    port.add_client(2, nip="7010002137")
    port.issue(9, client_id=2)
    port.clock += dt.timedelta(hours=2)
    assert sender.recovery_pass() == []


def test_a_file_that_cannot_be_written_yet_waits() -> None:
    sender, port, ksef = make()
    port.issue(1)

    def not_yet(document_id: int) -> bytes:
        raise ValidationError.single("extra.corrected_ksef_number", "waiting", "waits")

    port.fa3_xml = not_yet  # type: ignore[method-assign]
    error = step(sender, 1)
    assert error is not None and "extra.corrected_ksef_number" in str(error)
    assert error.retry_after == 300.0 and ksef.sent == []


def test_refused_tokens_are_dropped_and_a_fresh_authentication_follows_soon() -> None:
    from cabinet_ksef.errors import KsefAuthError

    sender, port, ksef = make()
    port.issue(1)
    step(sender, 1)
    real = FakeClient.invoice_status

    def revoked(self: FakeClient, *args: object) -> object:
        raise KsefAuthError(401, "Unauthorized")

    FakeClient.invoice_status = revoked  # type: ignore[assignment,method-assign]
    try:
        error = step(sender, 1)
    finally:
        FakeClient.invoice_status = real  # type: ignore[method-assign]
    assert error is not None and error.retry_after == sender.settings.poll_seconds
    assert step(sender, 1) is None and ksef.authentications == 2
    assert port.submission(1).state is KsefState.ACCEPTED  # type: ignore[union-attr]


def test_credentials_ksef_refuses_wait_long_and_say_why() -> None:
    from cabinet_ksef.errors import KsefAuthError

    sender, port, _ksef = make()
    port.issue(1)
    real = FakeClient.authenticate

    def refused(self: FakeClient, credentials: object) -> object:
        raise KsefAuthError(200, "Nieprawidłowy token", code=450)

    FakeClient.authenticate = refused  # type: ignore[assignment,method-assign]
    try:
        error = step(sender, 1)
    finally:
        FakeClient.authenticate = real  # type: ignore[method-assign]
    assert error is not None and error.retry_after == 600.0
    assert "Nieprawidłowy token" in port.client_state(1, "last_error")["message"]


def _second_process(port: FakePort, ksef: FakeKsef, shared: bool = True) -> KsefSender:
    """Another worker process on the same cabinet (same port and state, its own memory)."""
    settings = KsefSettings.from_config({"base_url": "http://ksef.test/v2"}, secret_key="s3cret")
    vault = CredentialVault(settings.credentials_key, port)
    return KsefSender(
        port, settings, Connections(ksef.client, port, port.now, shared=vault if shared else None)
    )


def test_two_processes_share_one_session_and_never_send_for_a_client_at_once() -> None:
    port, ksef = FakePort(), FakeKsef()
    port.add_client(1)
    first, second = _second_process(port, ksef), _second_process(port, ksef)
    first.vault.keep(
        1,
        TokenCredentials(context_nip=SELLER_NIP, token="20261201-EC-TOKEN|nip-5265877635|abc"),
        now=port.now(),
        valid_until=None,
    )
    port.issue(1)
    port.issue(2)
    step(first, 1)
    step(second, 2)
    # One session for the client, opened by the first process and adopted by the second.
    assert ksef.sessions_opened == 1 and ksef.sent[0][0] == ksef.sent[1][0]
    # While one process holds the client's lease, the other's message waits (attempt refunded).
    assert port.lease(1, first.holder, 60)
    port.issue(3)
    waiting = step(second, 3)
    assert waiting is not None and waiting.deferred and (waiting.retry_after or 0) < 3
    assert port.submission(3).state is KsefState.QUEUED  # type: ignore[union-attr]
    port.release(1, first.holder)
    port.clock += dt.timedelta(minutes=4)
    step(second, 3)
    assert len(ksef.sent) == 3 and ksef.sessions_opened == 1
    # The second process sent last: the first finds the session busy, not idle, and keeps it.
    idle = dt.timedelta(minutes=5)
    port.clock += dt.timedelta(minutes=4)
    assert first.connections.close_idle(idle, lease=first._try_lease) == []
    port.clock += dt.timedelta(minutes=2)
    assert first.connections.close_idle(idle, lease=first._try_lease) == [1]
    # Closed for both: the second process's next invoice opens a new session.
    port.issue(4)
    step(second, 4)
    assert ksef.sessions_opened == 2
