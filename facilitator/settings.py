"""All settings, read once from the environment (and an optional ``.env`` file).

Every setting here is documented in the README; ``tests/test_docs.py`` fails when one is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.config import Config

from facilitator import paths

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/facilitator.db"
ALL_INTERFACES = ("0.0.0.0", "::")  # noqa: S104 - binding them is the point: phones must reach it


@dataclass(frozen=True)
class Settings:
    #: Where the SQLite file and the demo's sign-ins go unless told otherwise: ``var`` in a
    #: checkout, the user's data folder for an installed package (see ``paths``).
    data_dir: Path = Path("var")
    database_url: str = DEFAULT_DATABASE_URL
    # All interfaces: phones on the same Wi-Fi must reach the room (sign-in guards the rest).
    host: str = ALL_INTERFACES[0]
    port: int = 8000
    public_url: str = ""
    #: This machine's LAN address, found by ``serve`` when it listens on every interface and no
    #: public URL is set: where phones are sent when the network set no address either (not
    #: read from the environment).
    lan_url: str = ""
    sqlite_busy_timeout_ms: int = 5000
    log_level: str = "info"
    broadcast_url: str = "memory://"
    #: Addresses (or networks, ``10.0.0.0/8``) of reverse proxies whose ``X-Forwarded-For`` and
    #: ``X-Forwarded-Proto`` are believed; none by default: a client is the address it came from.
    trusted_proxies: str = ""
    #: Host names served besides the public URL's own and this computer's (``localhost``).
    allowed_hosts: tuple[str, ...] = ()
    #: Joins by name (a phone with no token) as ``at once/per minute``, from one address (a
    #: venue's Wi-Fi is one) and into one meeting.
    name_joins_per_address: str = "200/120"
    name_joins_per_meeting: str = "1000/300"
    #: Where mail goes out: ``smtp://user:pass@host:587`` (STARTTLS when the server offers it)
    #: or ``smtps://…`` (TLS from the start); no mail is sent while it is empty.
    smtp_url: str = ""
    mail_from: str = ""
    #: Where bounces come back: each mail's envelope sender is this address with the mail's
    #: tag after a ``+`` (``bounces+12.3f9a…@example.org``); empty: the server's own sender.
    bounce_address: str = ""
    #: A mailbox ``facilitator bounces`` (and ``serve``'s rounds) read bounce reports from:
    #: ``imaps://user:password@host/INBOX``.
    bounce_imap_url: str = ""
    #: ``serve`` sends what is due every few minutes unless this is ``off`` (cron runs
    #: ``facilitator remind`` instead).
    scheduler: str = "on"
    #: ``serve`` migrates the database to the newest schema before it starts unless this is
    #: ``off`` (a unit runs ``facilitator migrate`` once; ``serve`` then only checks).
    migrate_on_start: str = "on"

    @property
    def https(self) -> bool:
        """The site is reached over TLS (at a proxy, say): cookies are ``Secure``, HSTS is sent."""
        return self.public_url.lower().startswith("https://")

    @classmethod
    def from_env(cls, env_file: str | Path | None = ".env") -> Settings:
        """Read settings: ``DATABASE_URL`` and the ``FACILITATOR_*`` variables."""
        path = env_file if env_file and Path(env_file).is_file() else None
        plain = Config(path)
        config = Config(path, env_prefix="FACILITATOR_")
        data = config("DATA_DIR", default="").strip()
        data_dir = Path(data).expanduser() if data else paths.default_data_dir()
        return cls(
            data_dir=data_dir,
            database_url=plain(
                "DATABASE_URL", default=paths.sqlite_url(data_dir / "facilitator.db")
            ),
            host=config("HOST", default=cls.host),
            port=config("PORT", cast=int, default=cls.port),
            public_url=config("PUBLIC_URL", default=cls.public_url),
            sqlite_busy_timeout_ms=config(
                "SQLITE_BUSY_TIMEOUT_MS", cast=int, default=cls.sqlite_busy_timeout_ms
            ),
            log_level=config("LOG_LEVEL", default=cls.log_level),
            broadcast_url=config("BROADCAST_URL", default=cls.broadcast_url),
            trusted_proxies=config("TRUSTED_PROXIES", default=cls.trusted_proxies).strip(),
            allowed_hosts=tuple(
                h.strip().lower()
                for h in config("ALLOWED_HOSTS", default="").split(",")
                if h.strip()
            ),
            name_joins_per_address=pace(
                config("NAME_JOINS_PER_ADDRESS", default=cls.name_joins_per_address)
            ),
            name_joins_per_meeting=pace(
                config("NAME_JOINS_PER_MEETING", default=cls.name_joins_per_meeting)
            ),
            smtp_url=config("SMTP_URL", default=cls.smtp_url).strip(),
            mail_from=config("MAIL_FROM", default=cls.mail_from).strip(),
            scheduler=switch(config("SCHEDULER", default=cls.scheduler)),
            migrate_on_start=switch(
                config("MIGRATE_ON_START", default=cls.migrate_on_start),
                "FACILITATOR_MIGRATE_ON_START",
            ),
            bounce_address=bounce_address(config("BOUNCE_ADDRESS", default="")),
            bounce_imap_url=config("BOUNCE_IMAP_URL", default="").strip(),
        )


def pace(text: str) -> str:
    """``"200/120"``: 200 at once, 120 more a minute; refused at start-up when it is not that."""
    burst, _, per_minute = text.strip().partition("/")
    if not (burst.isdigit() and per_minute.isdigit() and int(burst) >= 1 and int(per_minute) >= 1):
        raise ValueError(f"a pace is 'at once/per minute', such as 60/30, not {text!r}")
    return f"{int(burst)}/{int(per_minute)}"


def switch(text: str, name: str = "FACILITATOR_SCHEDULER") -> str:
    """``on`` or ``off``; refused at start-up when it is neither."""
    value = text.strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{name} is on or off, not {text!r}")
    return value


def bounce_address(text: str) -> str:
    """An address with no ``+`` of its own (the mail's tag goes after one); refused at
    start-up when it is not."""
    value = text.strip()
    local, at, domain = value.rpartition("@")
    plain = all(c.isprintable() and not c.isspace() and c not in '<>"' for c in value)
    if value and not (at and local and domain and plain and "+" not in local and "@" not in local):
        raise ValueError(
            f"FACILITATOR_BOUNCE_ADDRESS is a plain address with no '+', such as "
            f"bounces@example.org, not {text!r}"
        )
    return value


def parse_pace(text: str) -> tuple[float, float]:
    """A pace as (burst, per second)."""
    burst, per_minute = pace(text).split("/")
    return float(burst), int(per_minute) / 60


#: Settings found at start-up rather than read from the environment.
FOUND_AT_START = ("lan_url",)

#: Environment variable names, as documented (the docs test reads this).
ENVIRONMENT_VARIABLES = (
    "FACILITATOR_DATA_DIR",
    "DATABASE_URL",
    "FACILITATOR_HOST",
    "FACILITATOR_PORT",
    "FACILITATOR_PUBLIC_URL",
    "FACILITATOR_SQLITE_BUSY_TIMEOUT_MS",
    "FACILITATOR_LOG_LEVEL",
    "FACILITATOR_BROADCAST_URL",
    "FACILITATOR_TRUSTED_PROXIES",
    "FACILITATOR_ALLOWED_HOSTS",
    "FACILITATOR_NAME_JOINS_PER_ADDRESS",
    "FACILITATOR_NAME_JOINS_PER_MEETING",
    "FACILITATOR_SMTP_URL",
    "FACILITATOR_MAIL_FROM",
    "FACILITATOR_SCHEDULER",
    "FACILITATOR_MIGRATE_ON_START",
    "FACILITATOR_BOUNCE_ADDRESS",
    "FACILITATOR_BOUNCE_IMAP_URL",
)
