"""A real IMAP server for the tests: Debian's Dovecot (installed by ``make mail-deps``), started
on a free loopback port with one mailbox, ``bounces``, and stopped after.

Its runtime folder is a short one under /tmp: Dovecot's sockets live there, and a Unix socket's
path may not be longer than about 100 bytes.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port

USER, PASSWORD = "bounces", "s3cret"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def _config(root: Path, port: int) -> str:
    # As root, mail is kept as Dovecot's own user (a mail user may not be root); otherwise
    # everything runs as whoever runs the tests.
    me = pwd.getpwuid(os.getuid()).pw_name
    owner = "dovecot" if os.getuid() == 0 else me
    running_as = (
        "" if os.getuid() == 0 else f"default_internal_user = {me}\ndefault_login_user = {me}\n"
    )
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log
{running_as}protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner} gid={owner} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class ImapBox:
    def __init__(self) -> None:
        if not Path(DOVECOT).exists():
            message = "Dovecot is missing: run 'make mail-deps' (as root it installs it)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.root = Path(tempfile.mkdtemp(prefix="dc-", dir="/tmp"))
        self.port = free_port()
        self.conf = self.root / "dovecot.conf"

    @property
    def url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def start(self) -> None:
        for folder in ("run", "state", "mail", "home"):
            (self.root / folder).mkdir()
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        self.conf.write_text(_config(self.root, self.port))
        if os.getuid() == 0:
            self.root.chmod(0o755)  # Dovecot's own users read the password file in it
            for folder in ("mail", "home"):
                shutil.chown(self.root / folder, "dovecot", "dovecot")
        subprocess.run([DOVECOT, "-c", str(self.conf)], check=True, timeout=30)
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError((self.root / "log").read_text()) from None
                time.sleep(0.05)

    def stop(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.conf), "stop"], check=False, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(USER, PASSWORD)
        client.select("INBOX")
        return client

    def deliver(self, raw: bytes) -> int:
        """Put a message in the mailbox, unread, as a delivering server would; its UID."""
        with self._client() as client:
            status, data = client.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", data
            said = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
            return int(said.split("APPENDUID", 1)[1].split()[1].rstrip("]"))

    def read_uids(self) -> set[int]:
        """The UIDs of the messages marked read."""
        with self._client() as client:
            status, data = client.uid("SEARCH", "SEEN")
            assert status == "OK", data
            return {int(u) for u in (data[0] or b"").split()}
