"""Authentication against the fake KSeF: KSeF token and XAdES, polling, redeem, refresh, logout."""

from __future__ import annotations

import datetime as dt

import pytest
from cabinet_ksef.api import CertificateCredentials, TokenCredentials
from cabinet_ksef.client import KsefClient, PublicKeyCache
from cabinet_ksef.errors import KsefAuthError, KsefError, KsefUnavailable
from client_support import (
    BASE,
    CLIENT_NIP,
    client_for,
    key_pem,
    pem,
    signer_certificate,
    token_credentials,
)
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from ksef_fake import NOW, FakeKsef


def test_token_authentication_polls_then_redeems_tokens_for_the_clients_context() -> None:
    fake = FakeKsef(auth_polls_pending=2)
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))

    assert tokens.access_token in fake.access
    assert fake.access[tokens.access_token]["context"] == CLIENT_NIP
    assert tokens.refresh_token in fake.refresh
    assert tokens.access_valid_until < tokens.refresh_valid_until
    # Two answers of 100 ("in progress"), then success: the client waited twice, with backoff.
    assert client.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]
    # The token went RSA-OAEP encrypted with the challenge's timestamp (the fake decrypted it).
    sent = [r for r in fake.requests if r.url.path.endswith("/auth/ksef-token")]
    assert len(sent) == 1 and b"ab" * 32 not in sent[0].content


def test_the_public_keys_are_fetched_once_per_client() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    client.authenticate(token_credentials(fake))
    client.authenticate(token_credentials(fake))
    assert fake.key_fetches == 1
    keys = client.public_keys()
    assert keys.token_encryption.usage == ("KsefTokenEncryption",)
    assert keys.symmetric_key_encryption.usage == ("SymmetricKeyEncryption",)
    assert len(keys.token_encryption.public_key_id) == 44


def test_a_wrong_token_is_accepted_at_first_and_refused_when_polled() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    token_credentials(fake)
    wrong = TokenCredentials(
        context_nip=CLIENT_NIP, token="20261201-EC-0000000000-0000000000-00|nip-1|00"
    )

    with pytest.raises(KsefAuthError) as raised:
        client.authenticate(wrong)

    assert raised.value.code == 450
    assert raised.value.details == ("Invalid token",)
    # The 202 came first; the failure only at the status (§0.3), and nothing was redeemed.
    assert not any(r.url.path.endswith("/auth/token/redeem") for r in fake.requests)


def test_an_authentication_still_pending_after_the_wait_is_unavailable_not_failed() -> None:
    fake = FakeKsef(auth_polls_pending=100)
    client = client_for(fake, auth_wait=3.0)
    with pytest.raises(KsefUnavailable) as raised:
        client.authenticate(token_credentials(fake))
    assert raised.value.code == 100
    assert sum(client.sleeps) <= 3.0 + 5.0  # type: ignore[attr-defined]


def test_a_rotated_key_is_fetched_again_and_the_call_retried_once() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    client.public_keys()
    # MF rotates the token key in an emergency: the old key id is unknown from now on.
    from cryptography.hazmat.primitives.asymmetric import rsa
    from ksef_fake import self_signed

    fake.token_key = rsa.generate_private_key(65537, 2048)
    fake.token_cert = self_signed(fake.token_key, "Ministerstwo Finansów", serial=2)

    tokens = client.authenticate(token_credentials(fake))

    assert tokens.access_token in fake.access
    assert fake.key_fetches == 2
    codes = [r.url.path for r in fake.requests if r.url.path.endswith("/auth/ksef-token")]
    assert len(codes) == 2


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_xades_authentication_with_a_certificate_and_key_in_pem(kind: str) -> None:
    fake = FakeKsef()
    client = client_for(fake)
    certificate, key = signer_certificate(kind)
    credentials = CertificateCredentials(
        context_nip=CLIENT_NIP,
        certificate_pem=pem(certificate),
        private_key_pem=key_pem(key, b"secret"),
        password=b"secret",
    )

    tokens = client.authenticate(credentials)

    # The fake verified the XAdES signature with signxml and the request against auth XSD 2.1.
    assert fake.access[tokens.access_token]["context"] == CLIENT_NIP
    assert len(fake.signed_requests) == 1


def test_xades_authentication_with_a_pkcs12_file() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    certificate, key = signer_certificate("rsa")
    p12 = pkcs12.serialize_key_and_certificates(
        b"biuro", key, certificate, None, BestAvailableEncryption(b"haslo")
    )
    credentials = CertificateCredentials(
        context_nip=CLIENT_NIP, certificate_pem=p12, private_key_pem=b"", password=b"haslo"
    )
    tokens = client.authenticate(credentials)
    assert fake.access[tokens.access_token]["context"] == CLIENT_NIP


def test_a_key_that_does_not_belong_to_the_certificate_is_refused_before_sending() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    certificate, _ = signer_certificate("rsa")
    _, other_key = signer_certificate("rsa")
    credentials = CertificateCredentials(
        context_nip=CLIENT_NIP, certificate_pem=pem(certificate), private_key_pem=key_pem(other_key)
    )
    with pytest.raises(ValueError, match="does not belong"):
        client.authenticate(credentials)
    assert fake.signed_requests == []


def test_refresh_gives_a_new_access_token_and_keeps_the_refresh_token() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    refreshed = client.refresh(tokens)
    assert refreshed.access_token != tokens.access_token
    assert refreshed.access_token in fake.access
    assert refreshed.refresh_token == tokens.refresh_token


def test_logout_ends_the_refresh_token() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    client.logout(tokens)
    with pytest.raises(KsefError) as raised:
        client.refresh(tokens)
    assert raised.value.status == 400 and raised.value.code == 21301


def test_credentials_and_tokens_keep_their_secrets_out_of_repr() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    credentials = token_credentials(fake)
    tokens = client.authenticate(credentials)
    assert credentials.token not in repr(credentials)
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)


def test_an_encrypted_key_without_its_password_is_a_value_error_before_sending() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    certificate, key = signer_certificate("rsa")
    credentials = CertificateCredentials(
        context_nip=CLIENT_NIP, certificate_pem=pem(certificate), private_key_pem=key_pem(key, b"x")
    )
    with pytest.raises(ValueError):
        client.authenticate(credentials)
    plain = CertificateCredentials(
        context_nip=CLIENT_NIP,
        certificate_pem=pem(certificate),
        private_key_pem=key_pem(key),
        password=b"not needed",
    )
    with pytest.raises(ValueError):
        client.authenticate(plain)
    assert fake.signed_requests == []


def test_a_shared_key_cache_serves_every_client_of_the_base_url_until_it_is_stale() -> None:
    fake = FakeKsef()
    cache = PublicKeyCache(max_age=dt.timedelta(hours=6))
    now = [NOW]

    def client() -> KsefClient:
        return KsefClient(BASE, transport=fake.transport(), clock=lambda: now[0], key_cache=cache)

    first, second = client(), client()
    assert first.public_keys() == second.public_keys()
    assert fake.key_fetches == 1

    now[0] = NOW + dt.timedelta(hours=6)
    client().public_keys()
    assert fake.key_fetches == 2
    # Another base URL has its own entry.
    other = KsefClient(
        "https://api-demo.ksef.mf.gov.pl/v2", transport=fake.transport(), key_cache=cache
    )
    assert cache.get(other.base_url, NOW) is None
