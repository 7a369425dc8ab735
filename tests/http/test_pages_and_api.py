"""Every page and API route in-process: both languages, permissions, CSRF, escaping."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.settings import Settings
from tests.support.live_server import PASSWORD
from tests.support.pages_site import Site
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")


def test_health(site: Site) -> None:
    answer = site.client.get("/healthz")
    assert answer.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("path", ["/", "/admin/values", "/m/1/edit", "/m/1/console"])
def test_staff_pages_send_strangers_to_sign_in(site: Site, path: str) -> None:
    answer = site.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    ("lang", "direction", "words"), [("he", "rtl", "כניסה"), ("en", "ltr", "Sign in")]
)
def test_public_pages_in_both_languages(site: Site, lang: str, direction: str, words: str) -> None:
    for path in ("/login", "/join"):
        page = site.client.get(f"{path}?lang={lang}")
        assert page.status_code == 200
        assert f'lang="{lang}" dir="{direction}"' in page.text
        assert "content-security-policy" in page.headers
        assert "script-src 'self'" in page.headers["content-security-policy"]
    assert words in site.client.get(f"/login?lang={lang}").text
    # The choice is remembered.
    assert f'dir="{direction}"' in site.client.get("/join").text


def test_sign_in_refuses_wrong_password_missing_csrf_and_floods(site: Site) -> None:
    wrong = site.client.post(
        "/login", data={"csrf": site.csrf(), "email": site.seeded.staff_email, "password": "nope"}
    )
    assert wrong.status_code == 401
    assert "הדוא״ל או הסיסמה שגויים" in wrong.text
    no_csrf = site.client.post(
        "/login", data={"email": site.seeded.staff_email, "password": PASSWORD}
    )
    assert no_csrf.status_code == 400
    for _ in range(12):
        last = site.client.post(
            "/login", data={"csrf": site.csrf(), "email": "x@example.org", "password": "nope"}
        )
    assert last.status_code == 429


def test_a_locked_account_stays_locked_however_its_address_is_typed(site: Site) -> None:
    """The per-account limit reads the address as sign-in does: spaces, case and control
    characters do not make another account, and the right password waits like the wrong."""
    email = site.seeded.staff_email
    csrf = site.csrf()

    def attempt(number: int, typed: str, password: str) -> int:
        site.client._transport.client = (f"10.0.0.{number}", 5000)  # type: ignore[attr-defined]
        answer = site.client.post(
            "/login",
            data={"csrf": csrf, "email": typed, "password": password},
            follow_redirects=False,
        )
        return answer.status_code

    try:
        assert [attempt(n, email, "nope") for n in range(10)] == [401] * 10
        spellings = [f" {email}", f"{email} ", f"\t{email}", f"{email}\x01", email.upper()]
        assert [attempt(20 + n, s, "nope") for n, s in enumerate(spellings)] == [429] * 5
        assert attempt(40, f" {email} ", PASSWORD) == 429
        # Another account from the same kind of address is not locked with it.
        assert attempt(41, "someone@example.org", "nope") == 401
    finally:
        site.client._transport.client = ("testclient", 50000)  # type: ignore[attr-defined]


def test_the_next_target_is_never_another_site(site: Site) -> None:
    answer = site.client.post(
        "/login",
        data={
            "csrf": site.csrf(),
            "email": site.seeded.staff_email,
            "password": PASSWORD,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


@pytest.mark.parametrize(
    ("lang", "direction", "words"), [("he", "rtl", "פגישה חדשה"), ("en", "ltr", "New meeting")]
)
def test_staff_pages_in_both_languages(site: Site, lang: str, direction: str, words: str) -> None:
    site.login()
    meeting_id = site.new_meeting()
    for path in (
        "/",
        "/admin/groups",
        f"/m/{meeting_id}/edit",
        f"/m/{meeting_id}/console",
        f"/m/{meeting_id}/projector",
    ):
        page = site.client.get(f"{path}?lang={lang}")
        assert page.status_code == 200, path
        assert f'dir="{direction}"' in page.text, path
    assert words in site.client.get("/").text
    projector = site.client.get(f"/m/{meeting_id}/projector")
    assert "<svg" in projector.text
    assert site.code_of(meeting_id) in projector.text


def test_preparing_a_meeting_and_the_values(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting("<script>alert(1)</script>")
    home = site.client.get("/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home
    assert "<script>alert(1)" not in home
    added = site.client.post(
        f"/m/{meeting_id}/agenda",
        data={"csrf": site.csrf(), "title": "תקציב", "minutes": "20", "kind": "decision"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    snapshot = site.client.get(f"/api/m/{meeting_id}/snapshot").json()
    item = snapshot["agenda"][-1]
    assert (item["title"], item["minutes"], item["kind"]) == ("תקציב", 20, "decision")
    site.client.post(
        f"/m/{meeting_id}/agenda/{item['id']}",
        data={"csrf": site.csrf(), "title": "תקציב 2027", "minutes": "25", "kind": "discussion"},
    )
    bad = site.client.post(
        f"/m/{meeting_id}/agenda",
        data={"csrf": site.csrf(), "title": "", "minutes": "20", "kind": "decision"},
    )
    assert "השדה ריק" in bad.text
    site.client.post(f"/m/{meeting_id}/agenda/{item['id']}/remove", data={"csrf": site.csrf()})
    assert all(
        i["id"] != item["id"]
        for i in site.client.get(f"/api/m/{meeting_id}/snapshot").json()["agenda"]
    )

    # The values are the backbone's to keep (tests/http/test_admin_groups.py): not a facilitator's.
    refused = site.client.post(
        "/admin/values",
        data={"csrf": site.csrf(), "title_he": "אמון", "behaviours_he": "מקשיבים\nמכבדים\n"},
    )
    assert refused.status_code == 403
    past = site.client.post(
        "/meetings",
        data={
            "csrf": site.csrf(),
            "group_id": str(site.seeded.group),
            "title": "x",
            "scheduled_on": "2020-01-01",
        },
    )
    assert "תאריך הפגישה לא יכול להיות בעבר" in past.text
    forged = site.client.post(
        f"/m/{meeting_id}/agenda",
        data={"csrf": "forged", "title": "x", "minutes": "5", "kind": "update"},
    )
    assert "תוקף הטופס פג" in forged.text


def test_projector_link_and_permissions(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting()
    view = site.view_of(meeting_id)
    site.client.post("/logout", data={"csrf": site.csrf()})
    assert site.client.get("/", follow_redirects=False).status_code == 303
    assert site.client.get(f"/m/{meeting_id}/projector?view={view}").status_code == 200
    assert site.client.get(f"/m/{meeting_id}/projector?view=guess").status_code == 404
    assert site.client.get(f"/api/m/{meeting_id}/snapshot?view={view}").status_code == 200
    assert site.client.get(f"/api/m/{meeting_id}/snapshot?view=guess").status_code == 403
    refused = site.client.post(f"/api/m/{meeting_id}/commands?view={view}", json={"type": "start"})
    assert refused.status_code == 403


def test_a_late_resend_does_not_take_back_a_released_name(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting()
    ask = {"code": site.code_of(meeting_id), "name": "Noa", "organization": "Org",
           "client_msg_id": "join-1"}  # fmt: skip
    first = site.client.post("/api/join", json=ask).json()
    released = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "release_name", "id": "r1", "person_id": first["person"]["id"]},
        headers={"x-csrf-token": site.csrf()},
    )
    assert released.status_code == 200, released.text
    late = site.client.post("/api/join", json=ask)
    assert late.json()["error"]["key"] == "join.name_taken"
    assert "token" not in late.json()


def test_phone_join_and_its_token(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting()
    code = site.code_of(meeting_id)
    assert site.client.get(f"/j/{code}").status_code == 200
    assert site.client.get(f"/j/{code.lower()}").status_code == 200
    wrong = site.client.get("/j/AAAAAA")
    assert wrong.status_code == 404
    assert "אין פגישה פתוחה עם הקוד הזה" in wrong.text
    typed = site.client.post(
        "/join",
        data={"csrf": site.csrf(), "code": f" {code[:3]}-{code[3:]} "},
        follow_redirects=False,
    )
    assert typed.headers["location"] == f"/j/{code}"

    joined = site.client.post(
        "/api/join", json={"code": code, "name": "Dana", "organization": "Org"}
    ).json()
    token = joined["token"]
    again = site.client.post("/api/join", json={"code": code, "token": token}).json()
    assert again["person"]["id"] == joined["person"]["id"]
    assert again["token"] == token
    # A phone on bad Wi-Fi resends its join with the same message id: it never got the first
    # answer, so it gets a new token and the first one stops working (one join, one token).
    ask = {"code": code, "name": "Noa", "organization": "Org", "client_msg_id": "join-1"}
    first = site.client.post("/api/join", json=ask).json()
    resent = site.client.post("/api/join", json=ask).json()
    assert resent["person"]["id"] == first["person"]["id"]
    assert resent["token"] != first["token"]
    lost = site.client.post("/api/join", json={"code": code, "token": first["token"]})
    assert lost.json()["error"]["key"] == "join.token_unknown"
    # A third try replaces the second's token in turn.
    third = site.client.post("/api/join", json=ask).json()
    assert third["token"] not in (first["token"], resent["token"])
    gone = site.client.post("/api/join", json={"code": code, "token": resent["token"]})
    assert gone.json()["error"]["key"] == "join.token_unknown"
    kept = site.client.post("/api/join", json={"code": code, "token": third["token"]}).json()
    assert kept["person"]["id"] == first["person"]["id"]
    # Dana's token, issued to another phone at another moment, is untouched.
    assert site.client.post("/api/join", json={"code": code, "token": token}).status_code == 200
    stranger = site.client.post("/api/join", json={"code": code, "token": "made-up"})
    assert stranger.status_code == 403
    assert stranger.json()["error"]["key"] == "join.token_unknown"
    empty = site.client.post(
        "/api/join",
        json={"code": code, "name": "", "organization": "Org"},
        headers={"accept-language": "en"},
    )
    assert empty.status_code == 422

    # With the phone's token: its own snapshot, its own commands; never the staff pages.
    phone = {"authorization": f"Bearer {token}"}
    site.client.post("/logout", data={"csrf": site.csrf()})
    snap = site.client.get(f"/api/m/{meeting_id}/snapshot", headers=phone).json()
    assert snap["me"]["person"]["id"] == joined["person"]["id"]
    assert "attendance" not in snap  # a phone never draws who else is here
    moved = site.client.post(
        f"/api/m/{meeting_id}/commands", headers=phone, json={"type": "move", "stage": "review"}
    )
    assert moved.status_code == 403
    assert moved.json()["error"]["key"] == "role.forbidden"
    events = site.client.get(f"/api/m/{meeting_id}/events?after=0", headers=phone).json()["events"]
    # Who joined is the console's and the wall's to draw: a phone is not told, here as on its
    # socket (the names of everyone arriving would reach every phone).
    assert [e["event"] for e in events] == ["meeting_created"]
    assert site.client.get("/", headers=phone, follow_redirects=False).status_code == 303
    assert (
        site.client.get(
            f"/m/{meeting_id}/console", headers=phone, follow_redirects=False
        ).status_code
        == 303
    )


def test_wrong_codes_are_rate_limited(site: Site) -> None:
    # Thirty different wrong codes from one address (one repeated counts once) lock it out.
    guesses = [f"AAAA{a}{b}" for a in "CDEFH" for b in "JKMNPQ"]
    for code in guesses[:5] + guesses:
        sent = site.client.post("/api/join", json={"code": code, "name": "x", "organization": "y"})
        assert sent.status_code == 404
    limited = site.client.post(
        "/api/join", json={"code": "AAAAAA", "name": "x", "organization": "y"}
    )
    assert limited.status_code == 429
    assert limited.json()["error"]["key"] == "join.locked"


def test_staff_commands_need_the_csrf_header(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting()
    plain = site.client.post(f"/api/m/{meeting_id}/commands", json={"type": "start"})
    assert plain.status_code == 403
    guarded = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "start", "id": "s1"},
        headers={"x-csrf-token": site.csrf()},
    )
    assert guarded.json() == {
        "type": "ack", "id": "s1", "seq": 2, "replayed": False, "follows": True,
    }  # fmt: skip
    bad = site.client.post(
        f"/api/m/{meeting_id}/commands",
        content=b"{not json",
        headers={"x-csrf-token": site.csrf(), "accept-language": "en"},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["key"] == "msg.bad_json"
    other_site = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "move", "stage": "opener"},
        headers={"x-csrf-token": site.csrf(), "origin": "http://evil.example"},
    )
    assert other_site.status_code == 403


def test_renaming_and_rescheduling_before_the_start(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting("ישן")
    site.client.post(
        f"/m/{meeting_id}/edit",
        data={"csrf": site.csrf(), "title": "חדש", "scheduled_on": "2099-01-05"},
    )
    snap = site.client.get(f"/api/m/{meeting_id}/snapshot").json()
    assert (snap["meeting"]["title"], snap["meeting"]["scheduled_on"]) == ("חדש", "2099-01-05")
    past = site.client.post(
        f"/m/{meeting_id}/edit",
        data={"csrf": site.csrf(), "title": "חדש", "scheduled_on": "2001-01-01"},
    )
    assert "תאריך הפגישה לא יכול להיות בעבר" in past.text


def test_a_claimed_person_is_not_handed_over_by_typing_their_name(site: Site) -> None:
    site.login()
    code = site.code_of(site.new_meeting())
    first = site.client.post(
        "/api/join", json={"code": code, "name": "Dana", "organization": "Org"}
    )
    assert first.status_code == 200
    again = site.client.post(
        "/api/join",
        json={"code": code, "name": "dana", "organization": "ORG"},
        headers={"accept-language": "en"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["key"] == "join.name_taken"
    # A person the backbone entered and no phone holds yet is claimed by the first phone.
    seeded_name = site.seeded.people[3][1]
    claimed = site.client.post(
        "/api/join", json={"code": code, "name": seeded_name, "organization": "עמותת גשר"}
    )
    assert claimed.json()["person"]["id"] == site.seeded.people[3][0]


def test_every_way_of_guessing_codes_counts(site: Site) -> None:
    # The phone page by code, and the code typed into the join form, both count.
    for a in "ACDEF":
        for b in "ACD":
            page = site.client.get(f"/j/AAAA{a}{b}")
            assert page.status_code in (404, 429)
            typed = site.client.post("/join", data={"csrf": site.csrf(), "code": f"CCCC{a}{b}"})
    page = site.client.get("/j/AAAAAA")
    typed = site.client.post("/join", data={"csrf": site.csrf(), "code": "CCCCCC"})
    assert page.status_code == 429
    assert "יותר מדי קודים שגויים" in page.text
    assert "יותר מדי קודים שגויים" in typed.text


def test_a_phone_follows_only_meetings_it_joined(site: Site) -> None:
    site.login()
    first, second = site.new_meeting("ראשונה"), site.new_meeting("שנייה")
    token = site.client.post(
        "/api/join", json={"code": site.code_of(first), "name": "Dana", "organization": "Org"}
    ).json()["token"]
    phone = {"authorization": f"Bearer {token}"}
    assert site.client.get(f"/api/m/{first}/snapshot", headers=phone).status_code == 200
    assert site.client.get(f"/api/m/{second}/snapshot", headers=phone).status_code == 403
    # After joining by code, the phone's page by id works (and keeps working after the close).
    assert site.client.get(f"/p/{first}").status_code == 200
    assert site.client.get("/p/999999").status_code == 404


def test_odd_input_at_the_edge_is_a_clear_error_never_a_crash(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting()
    huge = "9" * 30
    for path in (
        f"/m/{huge}/console",
        f"/m/{huge}/projector",
        f"/api/m/{huge}/snapshot",
        f"/p/{huge}",
    ):
        assert site.client.get(path).status_code == 404, path
    assert site.client.get(f"/api/m/{meeting_id}/events?after={huge}").status_code == 422
    assert site.client.get(f"/api/m/{meeting_id}/events?after=-3").status_code == 422
    csrf = {"x-csrf-token": site.csrf()}
    big_id = site.client.post(
        f"/api/m/{meeting_id}/commands", json={"type": "focus_item", "item_id": 2**70}, headers=csrf
    )
    assert big_id.status_code == 422
    assert big_id.json()["error"]["key"] == "msg.bad_field"
    nested = site.client.post(
        f"/api/m/{meeting_id}/commands", content=b"[" * 100_000 + b"]" * 100_000, headers=csrf
    )
    assert nested.status_code in (413, 422)
    deep = site.client.post(
        f"/api/m/{meeting_id}/commands", content=b"[" * 5000 + b"]" * 5000, headers=csrf
    )
    assert deep.status_code == 422
    too_big = site.client.post("/api/join", content=b"x" * 100_000)
    assert too_big.status_code == 413
    streamed = site.client.post("/api/join", content=iter([b"x" * 40_000, b"x" * 40_000]))
    assert streamed.status_code == 413
    form_big = site.client.post("/meetings", data={"csrf": site.csrf(), "title": "x" * 70_000})
    assert form_big.status_code == 413
    spoof = site.client.get("/?error=Call+555-0100+to+verify+your+account")
    assert "555-0100" not in spoof.text


def test_only_this_sites_host_names_are_served(site: Site) -> None:
    """A forged Host would land in join links, QR codes and feed links."""
    for host in ("evil.example", "evil@testserver", "testserver.evil.example", "a b"):
        refused = site.client.get("/join", headers={"host": host})
        assert refused.status_code == 400, host
        assert "evil" not in refused.text
    # Addresses are served (rebinding needs a name), and so is the load balancer's health check.
    for host in ("testserver", "localhost:8000", "127.0.0.1", "[::1]:8000", "192.168.1.5:8000"):
        assert site.client.get("/join", headers={"host": host}).status_code == 200, host
    assert site.client.get("/healthz", headers={"host": "10.0.0.7"}).status_code == 200
    assert site.client.get("/healthz", headers={"host": "evil.example"}).status_code == 200


def test_an_origin_of_another_scheme_is_another_site(site: Site) -> None:
    body = {"code": "ZZZZZZ", "name": "x", "organization": "y"}
    other = site.client.post("/api/join", json=body, headers={"origin": "https://testserver"})
    assert other.status_code == 403
    assert other.json()["error"]["key"] == "auth.bad_origin"
    same = site.client.post("/api/join", json=body, headers={"origin": "http://testserver"})
    assert same.json()["error"]["key"] == "join.bad_code"
    port = site.client.post("/api/join", json=body, headers={"origin": "http://testserver:80"})
    assert port.json()["error"]["key"] == "join.bad_code"  # the default port is no other site
    assert "strict-transport-security" not in same.headers  # a plain-HTTP site sends no HSTS


def test_an_https_site_behind_a_plain_proxy_sends_secure_cookies_and_hsts(
    migrated_template: str, tmp_path: Path
) -> None:
    db_file = tmp_path / "tls.db"
    shutil.copyfile(migrated_template, db_file)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{db_file}", public_url="https://meet.example.org"
    )
    with TestClient(create_app(settings), base_url="http://meet.example.org") as client:
        page = client.get("/login?lang=en")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        cookies = page.headers.get_list("set-cookie")
        assert cookies
        assert all("secure" in c.lower() for c in cookies), cookies
        assert client.get("/login", headers={"host": "other.example"}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "\\ud800", "name": "x", "organization": "y"}',
        b'{"code": "ABCDEF", "name": "a\\udfffb", "organization": "y"}',
        b"[" * 10_000 + b"]" * 10_000,
    ],
)
def test_hostile_json_gets_a_clear_answer_not_a_500(site: Site, body: bytes) -> None:
    answer = site.client.post(
        "/api/join", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["key"] == "msg.bad_json"
