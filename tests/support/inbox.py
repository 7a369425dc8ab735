"""A real SMTP server in the test process (aiosmtpd) that keeps what it receives, refuses the
addresses it is told to, and can be stopped and started again on the same port."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


class Inbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[EmailMessage] = []
        #: Each message's envelope sender (where a bounce would go), by its Message-ID.
        self.senders: dict[str, str] = {}
        #: Addresses answered "550": a permanent refusal.
        self.refused: set[str] = set()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str, kind_words: str = "") -> list[EmailMessage]:
        return [
            m for m in self.received if address in str(m["To"]) and kind_words in str(m["Subject"])
        ]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.inbox.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.inbox.received.append(parsed)
        self.inbox.senders[str(parsed["Message-ID"])] = str(envelope.mail_from)
        return "250 accepted"
