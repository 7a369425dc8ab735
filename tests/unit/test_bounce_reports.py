"""Which reports are bounces of our mails: found by the tagged return address or by the quoted
Message-ID; only a failed delivery counts; a forged or foreign tag, a delay, a vacation reply
and garbage are not bounces, and reading them never raises."""

from __future__ import annotations

import pytest

from facilitator.db.models import MailOut
from facilitator.mail import bounces, tags
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
    # A row from before tags: a fresh Message-ID, and the server's own sender.
    untagged = MailOut(id=7, tag=None)
    assert tags.message_id(untagged, "x.example") != tags.message_id(untagged, "x.example")
    assert tags.return_path("bounces@x.example", untagged) is None


def test_a_report_to_the_tagged_address() -> None:
    found = bounces.read(report(VERP, RUTH, "<someone-elses@mx.example>"))
    assert found == bounces.Bounce(
        12, TAG, f"5.1.1 smtp; 550 5.1.1 <{RUTH}>: Recipient address rejected: User unknown"
    )
    # The address may come from the delivering program instead of a header.
    raw = report("bounces@network.example", RUTH, "<x@y>")
    assert bounces.read(raw) is None
    assert bounces.read(raw, to=VERP) == bounces.Bounce(12, TAG, found.words if found else "")


@pytest.mark.parametrize("whole", [False, True])
def test_a_report_quoting_our_message_id(whole: bool) -> None:
    found = bounces.read(report("bounces@network.example", RUTH, OURS, whole=whole))
    assert found is not None
    assert (found.mail_id, found.tag) == (12, TAG)
    assert "5.1.1" in found.words


def test_what_is_not_a_bounce() -> None:
    # Still trying: no bounce yet.
    assert bounces.read(report(VERP, RUTH, OURS, action="delayed", status="4.4.1")) is None
    assert bounces.read(report(VERP, RUTH, OURS, action="delivered", status="2.0.0")) is None
    # Someone's out-of-office reply to the tagged address.
    assert bounces.read(vacation(VERP)) is None
    # A report about someone else's mail.
    assert bounces.read(report("postmaster@network.example", RUTH, "<abc@mx.example>")) is None
    # Not a mail at all, or a hostile one.
    assert bounces.read(b"") is None
    assert bounces.read(b"\xff\xfe\x00garbage\r\n\r\n\xff") is None
    assert bounces.read(b"To: " + b"a" * 100_000 + b"\r\n\r\n") is None
    assert bounces.read(b"To: bounces+12.\xed\xa0\x80@x\r\nFrom: MAILER-DAEMON@x\r\n\r\n") is None


def test_a_bounce_in_no_standard_form_counts_only_from_a_mailer_daemon() -> None:
    found = bounces.read(plain_daemon(VERP))
    assert found == bounces.Bounce(12, TAG, "failure notice: mailbox unavailable")
    # Quoting no Message-ID and not at a tagged address: nothing says which mail.
    assert bounces.read(plain_daemon("bounces@network.example")) is None


def test_the_bounce_address_setting() -> None:
    assert bounce_address(" bounces@network.example ") == "bounces@network.example"
    assert bounce_address("") == ""
    for wrong in ("bounces+x@network.example", "bounces", "Net <b@network.example>", "@x"):
        with pytest.raises(ValueError, match="FACILITATOR_BOUNCE_ADDRESS"):
            bounce_address(wrong)
