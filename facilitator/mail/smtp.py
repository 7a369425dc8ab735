"""Handing a message to the SMTP server the network configured (``FACILITATOR_SMTP_URL``).

``smtp://user:pass@host:587`` speaks STARTTLS when the server offers it; ``smtps://…`` is TLS
from the first byte. Sending blocks, so the caller runs it on a thread. A failure says whether
trying again later can help: a 5xx reply (a refused recipient, a bad address) cannot; a
dropped connection or a 4xx can.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

TIMEOUT = 30.0


class SendFailed(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # TLS from the start (smtps)
    user: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Refused with a plain reason when the address is not one we can use."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "FACILITATOR_SMTP_URL is smtp://user:password@host:587 or smtps://…, "
                f"not {url.split('@')[-1]!r}"
            )
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 587),
            tls=tls,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def send(self, message: EmailMessage, envelope_from: str | None = None) -> None:
        """Hand one message over, from ``envelope_from`` (where bounces go) when given, else
        from its ``From``; raises ``SendFailed``."""
        try:
            with self._connect() as client:
                if not self.tls and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if self.user:
                    if not (self.tls or client.has_extn("starttls") or _loopback(self.host)):
                        raise SendFailed(
                            "the server offers no STARTTLS: the password is not sent in the clear",
                            permanent=False,
                        )
                    client.login(self.user, self.password or "")
                client.send_message(message, from_addr=envelope_from)
        except smtplib.SMTPRecipientsRefused as refused:
            raise SendFailed(
                _words(next(iter(refused.recipients.values()))), permanent=True
            ) from None
        except smtplib.SMTPResponseException as answer:
            raise SendFailed(
                _words((answer.smtp_code, answer.smtp_error)), permanent=answer.smtp_code >= 500
            ) from None
        except (OSError, smtplib.SMTPException) as trouble:
            raise SendFailed(f"{type(trouble).__name__}: {trouble}", permanent=False) from None

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


def _words(answer: tuple[int, bytes | str]) -> str:
    code, text = answer
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {said}"
