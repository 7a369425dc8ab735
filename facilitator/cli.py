"""The ``facilitator`` command: migrate, serve, demo, init, create-user."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import getpass
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from facilitator import backup, backup_cli, demo, logs, migrate
from facilitator.db import Database
from facilitator.db.database import sqlite_file
from facilitator.db.models import Network
from facilitator.db.report_process import ReportProcess
from facilitator.errors import DomainError
from facilitator.i18n import translate
from facilitator.mail import cli as mail_cli
from facilitator.services import network_settings, setup, users
from facilitator.settings import ALL_INTERFACES, Settings

GC_THRESHOLDS = (20_000, 20, 20)  # Python's defaults: (700, 10, 10)


def _database(settings: Settings) -> Database:
    return Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def _logins_file(settings: Settings) -> Path:
    """Where the demo's generated sign-ins are kept: beside the SQLite file (or in the data
    folder)."""
    path = sqlite_file(settings.database_url)
    folder = path.parent if path is not None else settings.data_dir
    return folder / "demo-logins.txt"


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url)
    print("database is at the newest schema")
    return 0


async def _demo(settings: Settings, if_empty: bool) -> list[demo.DemoLogin] | None:
    db = _database(settings)
    try:
        if await demo.has_network(db):
            if if_empty:
                return None
            print("the database already has a network; the demo loads only into an empty one")
            return None
        return await demo.load(db)
    finally:
        await db.dispose()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url)
    logins = asyncio.run(_demo(settings, args.if_empty))
    target = _logins_file(settings)
    if logins:
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{login.role}: {login.email} / {login.password}" for login in logins]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        target.chmod(0o600)
        print("demo network loaded")
    _print_signin(settings, target)
    return 0


def _print_signin(settings: Settings, logins: Path) -> None:
    url = (
        f"http://127.0.0.1:{settings.port}"
        if settings.host in ALL_INTERFACES
        else (settings.public_url or f"http://{settings.host}:{settings.port}")
    )
    print(f"\nFacilitator — sign in at {url}/login")
    if logins.is_file():
        for line in logins.read_text(encoding="utf-8").splitlines():
            print(f"  {line}")
        print(f"  (demo sign-ins, kept in {logins})")
    else:
        print(
            "  create a user first: facilitator create-user --email you@example.org --name 'Your Name'"
        )


async def _create_user(settings: Settings, args: argparse.Namespace, password: str) -> int:
    db = _database(settings)
    try:
        async with db.read() as session:
            network_id = args.network or await session.scalar(
                select(Network.id).order_by(Network.id).limit(1)
            )
        if network_id is None:
            print(
                "no network yet: create one with `facilitator init --network NAME ...`, or run "
                "`facilitator serve` and open the set-up link it prints "
                "(`facilitator demo` loads the demo instead)",
                file=sys.stderr,
            )
            return 2
        user_id = await users.create_user(
            db, network_id, args.email, password, name=args.name, role=args.role
        )
    except DomainError as error:
        print(translate(error.key, "en", **error.params), file=sys.stderr)
        return 2
    finally:
        await db.dispose()
    print(f"user {user_id} created: {args.email} ({args.role})")
    return 0


def _new_password() -> str | None:
    """FACILITATOR_NEW_PASSWORD, else asked twice on a terminal, else one line of stdin;
    ``None`` when the two typed on a terminal differ."""
    password = os.environ.get("FACILITATOR_NEW_PASSWORD")
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != password:
                print("the two passwords differ", file=sys.stderr)
                return None
        else:
            password = sys.stdin.readline().rstrip("\n")
    return password


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url)
    password = _new_password()
    if password is None:
        return 2
    return asyncio.run(_create_user(settings, args, password))


async def _init(settings: Settings, args: argparse.Namespace, password: str) -> int:
    db = _database(settings)
    form = setup.NetworkSetup(
        name=args.network,
        language=args.language,
        timezone=args.timezone,
        meeting_minutes=args.meeting_minutes,
        admin_name=args.name,
        admin_email=args.email,
        password=password,
    )
    try:
        network_id, user_id = await setup.create_network(db, form)
    except DomainError as error:
        print(translate(error.key, "en", **error.params), file=sys.stderr)
        return 2
    finally:
        await db.dispose()
    print(f"network {network_id} created, with the seed's blockers and starter values")
    print(f"backbone user {user_id}: {args.email}; sign in at /login after `facilitator serve`")
    return 0


def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url)
    password = _new_password()
    if password is None:
        return 2
    return asyncio.run(_init(settings, args, password))


async def _setup_link(settings: Settings) -> str | None:
    db = _database(settings)
    try:
        return await setup.new_setup_link(db)
    finally:
        await db.dispose()


def _print_setup_link(base: str, token: str) -> None:
    hours = int(setup.SETUP_VALID.total_seconds() // 3600)
    rule = "=" * 72
    print(
        f"\n{rule}\n  No network yet. Set it up in a browser, at:\n\n    {base}/setup/{token}\n\n"
        f"  The link works once, within {hours} hours; each start of `facilitator serve`\n"
        f"  prints a new one (and the older ones stop working).\n"
        f"  Without a browser: facilitator init --help\n{rule}\n",
        flush=True,
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    host, port = args.host or settings.host, args.port or settings.port
    public_url = configured = settings.public_url.rstrip("/")
    lan_url = ""
    if not public_url and host in ALL_INTERFACES:
        # Phones reach this machine by its LAN address, whatever the projector's browser used,
        # unless the network set its own address on /admin/network.
        public_url = lan_url = f"http://{lan_address()}:{port}"
    settings = dataclasses.replace(
        settings, host=host, port=port, public_url=configured, lan_url=lan_url
    )
    database = sqlite_file(settings.database_url)
    # While it serves, `restore` is refused (released with the process, however it ends).
    with backup.serving(database) if database is not None else contextlib.nullcontext():
        return _serve(settings, args, host, port, configured, public_url)


def _serve(
    settings: Settings,
    args: argparse.Namespace,
    host: str,
    port: int,
    configured: str,
    public_url: str,
) -> int:
    import uvicorn

    from facilitator.app import create_app
    from facilitator.live.messages import MAX_MESSAGE_BYTES

    if settings.migrate_on_start == "on":
        migrate.upgrade(settings.database_url)
    elif (behind := _schema_behind(settings)) is not None:
        print(f"facilitator: {behind}", file=sys.stderr)
        return 2
    if args.demo:
        cmd_demo(settings, argparse.Namespace(if_empty=True))
    local = "127.0.0.1" if host in ALL_INTERFACES else host
    token = asyncio.run(_setup_link(settings))
    if token is not None:
        # The configured public address if there is one, else this machine's own.
        _print_setup_link(configured or f"http://{local}:{port}", token)
    database = sqlite_file(settings.database_url)
    if database is not None:
        print(f"database: {database.resolve()}", flush=True)
    print(f"serving on http://{local}:{port}  (health: /healthz; stop with Ctrl-C)", flush=True)
    if public_url:
        print(f"phones join at {public_url}/join", flush=True)
    else:
        print(
            "only this computer can reach it; for phones on the same Wi-Fi run with "
            "FACILITATOR_HOST=0.0.0.0",
            flush=True,
        )
    # Everything loaded so far lives as long as the process: keep the collector from walking it
    # again and again while a hall of phones allocates (full collections were pauses of tens
    # of milliseconds with thousands of sockets open), and collect the young less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level=settings.log_level,
            log_config=logs.config(settings.log_level),
            # Compression off (it doubles the cost of every broadcast); frames over 64 KiB
            # close the socket with 1009.
            ws_per_message_deflate=False,
            ws_max_size=MAX_MESSAGE_BYTES,
            # X-Forwarded-* only from the proxies named: from anyone else they would make each
            # request a new client to the limiters, or an http request look like https.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
        )
    finally:
        ReportProcess.stop()
    return 0


def _schema_behind(settings: Settings) -> str | None:
    """Why the database is not ready to serve as it stands, or ``None`` when it is (at the
    newest schema): for ``FACILITATOR_MIGRATE_ON_START=off``, where ``serve`` never migrates."""
    found = asyncio.run(migrate.schema_revision(settings.database_url))
    newest = migrate.known_revisions()[-1]
    if found == newest:
        return None
    return (
        f"the database's schema is {found or 'none'}, not the newest ({newest}), and "
        "FACILITATOR_MIGRATE_ON_START is off: run 'facilitator migrate' first"
    )


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent to find it)."""
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = str(info[4][0])
            if not address.startswith("127."):
                return address
    except OSError:
        pass
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        # connect() on UDP only picks a route; 192.0.2.1 is a documentation address.
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    return "127.0.0.1"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="facilitator", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the database to the newest schema").set_defaults(
        run=cmd_migrate
    )
    backup_cli.add_parser(sub)
    serve = sub.add_parser("serve", help="migrate, then serve the app with uvicorn")
    serve.add_argument("--host", help="address to listen on (FACILITATOR_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (FACILITATOR_PORT)")
    serve.add_argument("--demo", action="store_true", help="load the demo into an empty database")
    serve.set_defaults(run=cmd_serve)
    demo_cmd = sub.add_parser("demo", help="load the Hebrew demo network and print its sign-ins")
    demo_cmd.add_argument(
        "--if-empty", action="store_true", help="do nothing (but print sign-ins) if data exists"
    )
    demo_cmd.set_defaults(run=cmd_demo)
    user = sub.add_parser(
        "create-user",
        help="add a staff user; the password is asked for, read from stdin, "
        "or taken from FACILITATOR_NEW_PASSWORD",
    )
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--role", choices=["facilitator", "backbone"], default="facilitator")
    user.add_argument("--network", type=int, help="network id (default: the first)")
    user.set_defaults(run=cmd_create_user)
    init = sub.add_parser(
        "init",
        help="create a network and its first backbone user in an empty database (the set-up "
        "page without a browser); the password is taken as for create-user",
    )
    init.add_argument("--network", required=True, help="the network's name")
    init.add_argument("--language", default="he", help="he or en (default: he)")
    init.add_argument("--timezone", default="Asia/Jerusalem", help="an IANA time zone name")
    init.add_argument("--email", required=True, help="the backbone user's email")
    init.add_argument("--name", required=True, help="the backbone user's name")
    init.add_argument(
        "--meeting-minutes",
        default=setup.DEFAULT_MINUTES,
        help=(
            "a usual meeting's length "
            f"({network_settings.MINUTES_LOW}-{network_settings.MINUTES_HIGH})"
        ),
    )
    init.set_defaults(run=cmd_init)
    mail_cli.add_parser(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as wrong:  # a setting that cannot be used: say which, not a traceback
        print(f"facilitator: {wrong}", file=sys.stderr)
        return 2
    code: int = args.run(settings, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
