"""Which reports are bounces of our mails: found by the tagged return address or by the quoted
Message-ID, in RFC 3464's form and RFC 6533's global one; only a failed delivery counts; a
forged or foreign tag, a delay, a vacation reply and garbage are not bounces, and reading any
bytes at all never raises and stays quick."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facilitator.db.models import MailOut
from facilitator.mail import tags
from facilitator.mail.reports import Bounce, read
from facilitator.settings import bounce_address
from tests.support.bounce_reports import plain_daemon, report, vacation

TAG = "3f9a0c1d2e4b"
ROW = MailOut(id=12, tag=TAG)
VERP = f"bounces+12.{TAG}@network.example"
OURS = f"<fm.12.{TAG}@network.example>"
RUTH = "ruth@partner.example"


def test_a_mail_names_its_row_the_same_way_on_every_try() -> None:
    assert tags.message_id(ROW, "network.example") == OURS
    assert tags.message_id(ROW, "network.example") == OURS
    assert tags.return_path("bounces@network.example", ROW) == VERP
    assert tags.return_path("", ROW) is None
    assert tags.from_return_path(VERP) == (12, TAG)
    assert tags.from_return_path(f"<{VERP.upper()}>") == (12, TAG)
    assert tags.from_message_id(f"Message-ID: {OURS}") == (12, TAG)
    assert tags.from_message_id(f"Message-ID: {OURS.upper()}") == (12, TAG)
    # A row from before tags: a fresh Message-ID, and the server's own sender.
    untagged = MailOut(id=7, tag=None)
    assert tags.message_id(untagged, "x.example") != tags.message_id(untagged, "x.example")
    assert tags.return_path("bounces@x.example", untagged) is None


def test_a_report_to_the_tagged_address() -> None:
    found = read(report(VERP, RUTH, "<someone-elses@mx.example>"))
    assert found == Bounce(
        12, TAG, f"5.1.1 smtp; 550 5.1.1 <{RUTH}>: Recipient address rejected: User unknown"
    )
    # The address may come from the delivering program instead of a header.
    raw = report("bounces@network.example", RUTH, "<x@y>")
    assert read(raw) is None
    assert read(raw, to=VERP) == Bounce(12, TAG, found.words if found else "")


@pytest.mark.parametrize("whole", [False, True])
def test_a_report_quoting_our_message_id(whole: bool) -> None:
    found = read(report("bounces@network.example", RUTH, OURS, whole=whole))
    assert found is not None
    assert (found.mail_id, found.tag) == (12, TAG)
    assert "5.1.1" in found.words


def test_what_is_not_a_bounce() -> None:
    # Still trying: no bounce yet.
    assert read(report(VERP, RUTH, OURS, action="delayed", status="4.4.1")) is None
    assert read(report(VERP, RUTH, OURS, action="delivered", status="2.0.0")) is None
    # Someone's out-of-office reply to the tagged address.
    assert read(vacation(VERP)) is None
    # A report about someone else's mail.
    assert read(report("postmaster@network.example", RUTH, "<abc@mx.example>")) is None
    # Not a mail at all, or a hostile one.
    assert read(b"") is None
    assert read(b"\xff\xfe\x00garbage\r\n\r\n\xff") is None
    assert read(b"To: " + b"a" * 100_000 + b"\r\n\r\n") is None
    assert read(b"To: bounces+12.\xed\xa0\x80@x\r\nFrom: MAILER-DAEMON@x\r\n\r\n") is None


def test_a_bounce_in_no_standard_form_counts_only_from_a_mailer_daemon() -> None:
    found = read(plain_daemon(VERP))
    assert found == Bounce(12, TAG, "failure notice: mailbox unavailable")
    # Quoting no Message-ID and not at a tagged address: nothing says which mail.
    assert read(plain_daemon("bounces@network.example")) is None


def test_the_bounce_address_setting() -> None:
    assert bounce_address(" bounces@network.example ") == "bounces@network.example"
    assert bounce_address("") == ""
    for wrong in (
        "bounces+x@network.example", "bounces", "Net <b@network.example>", "@x", "a@b@c",
        "bou\tnces@x.example", "b@x .example",
    ):  # fmt: skip
        with pytest.raises(ValueError, match="FACILITATOR_BOUNCE_ADDRESS"):
            bounce_address(wrong)


def _global(raw: bytes) -> bytes:
    """The same report in RFC 6533's form, as a server that speaks UTF-8 mail writes it."""
    return raw.replace(b"message/delivery-status", b"message/global-delivery-status").replace(
        b"text/rfc822-headers", b"message/global-headers"
    )


def test_global_reports() -> None:
    found = read(_global(report("bounces@network.example", RUTH, OURS)))
    assert found is not None
    assert (found.mail_id, found.tag) == (12, TAG)
    assert found.words.startswith("5.1.1 smtp; 550 5.1.1")
    delayed = report(VERP, RUTH, OURS, action="delayed", status="4.4.1")
    assert read(_global(delayed)) is None


HOSTILE = [
    b"To: =?utf-8?q?<\r\nFrom: =?utf-8?q?<\r\n\r\nx",
    b"From: " + b"(" * 3000 + b"\r\n\r\n",
    b"To: " + b"=?utf-8?q?a?= " * 30_000 + b"\r\n\r\n",
    report(VERP, RUTH, OURS).replace(
        b"text/rfc822-headers", b"text/rfc822-headers; charset=x-nonsense"
    ),
    report("bounces@network.example", RUTH, OURS).replace(
        b"text/rfc822-headers", b"text/rfc822-headers; charset=x-nonsense"
    ),
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    + b"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" * 3000,
    b"Content-Type: message/global-delivery-status\r\n\r\n" + b"\r\n\r\nAction: failed" * 5000,
]


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_messages_are_read_quickly_and_never_raise(raw: bytes) -> None:
    started = time.perf_counter()
    found = read(raw)
    assert found is None or found.mail_id == 12
    assert time.perf_counter() - started < 5


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([b"", report(VERP, RUTH, OURS)]))
def test_any_bytes_at_all(noise: bytes, start: bytes) -> None:
    found = read(start[: len(noise)] + noise)
    assert found is None or (found.mail_id, found.tag) == (12, TAG)
