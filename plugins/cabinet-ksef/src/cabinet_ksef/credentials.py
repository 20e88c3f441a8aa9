"""A client's KSeF credentials: how the firm authenticates for it (§4.7 of ksef-api.md), kept
encrypted at rest.

Two methods: a **KSeF token** the client generated (legal only until 2026-12-31, §0.4), or a
**certificate** (a KSeF certificate or a qualified seal) with its private key, uploaded as PEM
files or one PKCS#12 bundle. Either is sealed with Fernet (AES-128-CBC + HMAC-SHA256) under the
plugin's credentials key (:mod:`cabinet_ksef.settings`) and stored through the port's
secret-aware state, so the audit trail says only that the credentials changed; what the
settings page shows (method, certificate subject, valid until) is kept beside it in clear.
The private key is stored unencrypted *inside* the sealed value (its upload password is not
kept anywhere).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import attrs
from cabinet_core.errors import N_, FieldError, ValidationError
from cryptography import x509
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from cabinet_ksef.api import CertificateCredentials, Credentials, OnlineSession, TokenCredentials

__all__ = [
    "TOKEN_LEGAL_END",
    "ClientState",
    "CredentialInfo",
    "CredentialVault",
    "certificate_credentials",
    "token_credentials",
]

Method = Literal["token", "certificate"]

#: KSeF tokens authenticate only until the end of 2026 (Dz.U. 2025 poz. 1815 § 13, §0.4).
TOKEN_LEGAL_END = datetime(2027, 1, 1, tzinfo=ZoneInfo("Europe/Warsaw")).astimezone(UTC)

#: State keys (per client) this module owns.
SEALED_KEY = "credentials"
INFO_KEY = "credentials_info"
#: The client's open online session, sealed, shared by the worker processes.
SESSION_KEY = "online_session"

#: The largest upload accepted (a certificate chain with its key is a few kB).
MAX_UPLOAD_BYTES = 64 * 1024


class ClientState(Protocol):
    """Per-client state the plugin keeps through the core's KSeF port (secret-aware: a
    ``secret`` value is never written into the audit trail)."""

    def client_state(self, client_id: int, key: str, default: Any = None) -> Any: ...

    def set_client_state(
        self, client_id: int, key: str, value: Any, *, secret: bool = False
    ) -> None: ...


@attrs.frozen(kw_only=True)
class CredentialInfo:
    """What may be shown of a client's credentials: never the token or the key."""

    method: Method
    context_nip: str
    valid_until: datetime | None
    subject: str = ""
    updated_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "context_nip": self.context_nip,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "subject": self.subject,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> CredentialInfo:
        def when(text: object) -> datetime | None:
            return datetime.fromisoformat(str(text)) if text else None

        method = value.get("method")
        if method not in ("token", "certificate"):
            raise ValueError(f"unknown credential method {method!r}")
        return cls(
            method=method,
            context_nip=str(value.get("context_nip", "")),
            valid_until=when(value.get("valid_until")),
            subject=str(value.get("subject", "")),
            updated_at=when(value.get("updated_at")),
        )

    def expired(self, now: datetime) -> bool:
        return self.valid_until is not None and self.valid_until <= now


class CredentialVault:
    """Seals and opens clients' credentials with one Fernet key, in a client's state."""

    def __init__(self, key: bytes, state: ClientState) -> None:
        self._fernet = Fernet(key)
        self._state = state

    def keep(
        self,
        client_id: int,
        credentials: Credentials,
        *,
        now: datetime,
        valid_until: datetime | None,
    ) -> CredentialInfo:
        """Keep ``credentials`` for ``client_id`` (replacing any); what the page may show."""
        if isinstance(credentials, TokenCredentials):
            plain: dict[str, Any] = {
                "method": "token",
                "context_nip": credentials.context_nip,
                "token": credentials.token,
            }
            info = CredentialInfo(
                method="token",
                context_nip=credentials.context_nip,
                valid_until=min(valid_until or TOKEN_LEGAL_END, TOKEN_LEGAL_END),
                updated_at=now,
            )
        else:
            plain = {
                "method": "certificate",
                "context_nip": credentials.context_nip,
                "certificate": credentials.certificate_pem.decode("ascii"),
                "private_key": credentials.private_key_pem.decode("ascii"),
            }
            certificate = x509.load_pem_x509_certificate(credentials.certificate_pem)
            info = CredentialInfo(
                method="certificate",
                context_nip=credentials.context_nip,
                valid_until=certificate.not_valid_after_utc,
                subject=certificate.subject.rfc4514_string(),
                updated_at=now,
            )
        sealed = self._fernet.encrypt(json.dumps(plain).encode()).decode("ascii")
        self._state.set_client_state(client_id, SEALED_KEY, sealed, secret=True)
        self._state.set_client_state(client_id, INFO_KEY, info.to_json())
        return info

    def info(self, client_id: int) -> CredentialInfo | None:
        """What the client's settings page shows; ``None`` when nothing is stored."""
        value = self._state.client_state(client_id, INFO_KEY)
        return CredentialInfo.from_json(value) if isinstance(value, Mapping) else None

    def credentials(self, client_id: int) -> Credentials | None:
        """The client's credentials, opened; ``None`` when none are stored or they were sealed
        under another key (the secret key was rotated: staff must enter them again)."""
        sealed = self._state.client_state(client_id, SEALED_KEY)
        if not isinstance(sealed, str) or not sealed:
            return None
        try:
            plain = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except (InvalidToken, ValueError):
            return None
        if plain.get("method") == "token":
            return TokenCredentials(context_nip=plain["context_nip"], token=plain["token"])
        return CertificateCredentials(
            context_nip=plain["context_nip"],
            certificate_pem=plain["certificate"].encode("ascii"),
            private_key_pem=plain["private_key"].encode("ascii"),
        )

    def keep_session(self, client_id: int, session: OnlineSession | None) -> None:
        """Share the client's open online session (its AES key sealed) with the other worker
        processes; ``None``: there is none any more."""
        value = None
        if session is not None:
            plain = {
                "reference": session.reference_number,
                "valid_until": session.valid_until.isoformat(),
                "key": base64.b64encode(session.symmetric_key).decode("ascii"),
                "iv": base64.b64encode(session.iv).decode("ascii"),
            }
            value = self._fernet.encrypt(json.dumps(plain).encode()).decode("ascii")
        if self._state.client_state(client_id, SESSION_KEY) != value:
            self._state.set_client_state(client_id, SESSION_KEY, value, secret=True)

    def session(self, client_id: int) -> OnlineSession | None:
        """The client's online session another worker process (or this one) opened."""
        sealed = self._state.client_state(client_id, SESSION_KEY)
        if not isinstance(sealed, str) or not sealed:
            return None
        try:
            plain = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
            return OnlineSession(
                reference_number=str(plain["reference"]),
                valid_until=datetime.fromisoformat(plain["valid_until"]),
                symmetric_key=base64.b64decode(plain["key"]),
                iv=base64.b64decode(plain["iv"]),
            )
        except (InvalidToken, ValueError, KeyError, TypeError):
            return None

    def forget(self, client_id: int) -> None:
        """Drop the client's credentials (and what was shown of them)."""
        self._state.set_client_state(client_id, SEALED_KEY, None, secret=True)
        self._state.set_client_state(client_id, INFO_KEY, None)


# -- building credentials from a form ----------------------------------------------------------


def token_credentials(context_nip: str, token: str) -> TokenCredentials:
    """Credentials from a pasted KSeF token; :class:`ValidationError` at ``token`` when it
    cannot be one (KSeF tokens are printable ASCII, a few hundred characters at most)."""
    token = token.strip()
    if not token:
        raise ValidationError.single("token", "required", N_("Enter the KSeF token."))
    if len(token) > 1000 or not token.isascii() or any(c.isspace() for c in token):
        raise ValidationError.single(
            "token", "invalid", N_("A KSeF token is one line of letters, digits and |-.")
        )
    return TokenCredentials(context_nip=context_nip, token=token)


def certificate_credentials(
    context_nip: str,
    certificate: bytes,
    private_key: bytes | None = None,
    password: bytes | None = None,
    *,
    now: datetime,
) -> CertificateCredentials:
    """Credentials from uploaded files: ``certificate`` is a PEM (or DER) certificate with its
    PEM ``private_key``, or one PKCS#12 bundle (``.p12``/``.pfx``) holding both; ``password``
    opens an encrypted key or bundle. The key is kept as unencrypted PKCS#8 PEM (the sealed
    value is the encryption). :class:`ValidationError` names the field at fault."""
    errors: list[FieldError] = []
    for field, data in (("certificate", certificate), ("private_key", private_key)):
        if data is not None and len(data) > MAX_UPLOAD_BYTES:
            errors.append(
                FieldError(field=field, code="too_large", message=N_("The file is too large."))
            )
    if errors:
        raise ValidationError(errors)
    if not certificate:
        raise ValidationError.single(
            "certificate", "required", N_("Upload the certificate (PEM, CER or PKCS#12).")
        )
    cert, key = _load(certificate, private_key, password or None)
    if cert.not_valid_after_utc <= now:
        raise ValidationError.single(
            "certificate",
            "expired",
            N_("The certificate expired on %(date)s."),
            date=cert.not_valid_after_utc.date().isoformat(),
        )
    if cert.not_valid_before_utc > now:
        raise ValidationError.single(
            "certificate", "not_yet_valid", N_("The certificate is not valid yet.")
        )
    public = cert.public_key()
    if not isinstance(public, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise ValidationError.single(
            "certificate", "key_type", N_("KSeF accepts RSA or ECDSA certificates only.")
        )
    if public.public_numbers() != key.public_key().public_numbers():
        raise ValidationError.single(
            "private_key", "mismatch", N_("The private key does not belong to the certificate.")
        )
    return CertificateCredentials(
        context_nip=context_nip,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _load(
    certificate: bytes, private_key: bytes | None, password: bytes | None
) -> tuple[x509.Certificate, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    if not private_key and b"-----BEGIN" not in certificate:
        # No separate key and not PEM: a PKCS#12 bundle (or a bare DER certificate).
        try:
            key, cert, _chain = pkcs12.load_key_and_certificates(certificate, password)
        except ValueError:
            try:
                x509.load_der_x509_certificate(certificate)
            except ValueError:
                raise ValidationError.single(
                    "certificate",
                    "unreadable",
                    N_(
                        "The file is neither a certificate nor a PKCS#12 bundle, or the password "
                        "is wrong."
                    ),
                ) from None
            raise ValidationError.single(
                "private_key", "required", N_("Upload the certificate's private key.")
            ) from None
        if cert is None or key is None:
            raise ValidationError.single(
                "certificate", "incomplete", N_("The bundle must hold the certificate and its key.")
            )
        return cert, _supported(key)
    if b"-----BEGIN" in certificate and b"PRIVATE KEY-----" in certificate and not private_key:
        private_key = certificate  # one PEM file holding both
    try:
        cert = (
            x509.load_pem_x509_certificate(certificate)
            if b"-----BEGIN CERTIFICATE" in certificate
            else x509.load_der_x509_certificate(certificate)
        )
    except ValueError:
        raise ValidationError.single(
            "certificate", "unreadable", N_("The certificate file cannot be read.")
        ) from None
    if not private_key:
        raise ValidationError.single(
            "private_key", "required", N_("Upload the certificate's private key.")
        )
    try:
        key = serialization.load_pem_private_key(private_key, password)
    except TypeError:
        raise ValidationError.single(
            "password", "required", N_("The private key is encrypted: enter its password.")
        ) from None
    except ValueError:
        raise ValidationError.single(
            "private_key",
            "unreadable",
            N_("The private key cannot be read (a PEM file), or the password is wrong."),
        ) from None
    return cert, _supported(key)


def _supported(key: object) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return key
    raise ValidationError.single(
        "private_key", "key_type", N_("KSeF accepts RSA or ECDSA keys only.")
    )
