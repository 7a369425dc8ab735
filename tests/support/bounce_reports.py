"""Bounce reports as receiving servers write them (RFC 3464, as Postfix and Exim send them), and
the mail that comes to a bounce address without being one (a vacation reply)."""

from __future__ import annotations

from email.message import EmailMessage


def report(
    to: str,
    recipient: str,
    message_id: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown",
    whole: bool = False,
) -> bytes:
    """A delivery status report to ``to`` about the mail ``message_id`` sent to ``recipient``;
    it returns the mail's headers (``text/rfc822-headers``), or the ``whole`` of it."""
    said = diagnostic.format(r=recipient)
    fold = said.rfind(" ", 0, 60)  # a long field goes on over two lines, broken at a space
    original = EmailMessage()
    original["From"] = "Network <facilitator@network.example>"
    original["To"] = recipient
    original["Subject"] = "Meeting record"
    original["Message-ID"] = message_id
    original.set_content("The record of the meeting.\n")
    if whole:
        returned = "Content-Type: message/rfc822\n\n" + original.as_string()
    else:
        headers = original.as_string().split("\n\n", 1)[0]
        returned = f"Content-Type: text/rfc822-headers\n\n{headers}\n"
    # As Postfix writes one: a text for people, the machine-readable status, what came back.
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.partner.example>
To: {to}
Subject: Undelivered Mail Returned to Sender
Date: Thu, 3 Dec 2026 07:00:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host said: user unknown

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.partner.example
Arrival-Date: Thu, 3 Dec 2026 06:59:58 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.partner.example
Diagnostic-Code: {said[:fold]}
{said[fold:]}

--B0UND
{returned}
--B0UND--
""".replace("\n", "\r\n").encode()


def vacation(to: str) -> bytes:
    """An out-of-office reply that came to the bounce address: not a bounce."""
    message = EmailMessage()
    message["From"] = "Ruth <ruth@partner.example>"
    message["To"] = to
    message["Subject"] = "Out of office"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("I am away until Sunday.\n")
    return message.as_bytes()


def plain_daemon(to: str) -> bytes:
    """A bounce in no standard form (older servers): only its address says which mail."""
    message = EmailMessage()
    message["From"] = "MAILER-DAEMON@old.partner.example"
    message["To"] = to
    message["Subject"] = "failure notice: mailbox unavailable"
    message.set_content("Hi. This is the mail program at old.partner.example.\nSorry.\n")
    return message.as_bytes()
