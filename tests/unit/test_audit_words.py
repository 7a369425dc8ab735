"""The audit log reads in words, in both languages: every action the code writes has its name in
the catalogs, and after the administration's changes every field the page shows has a label
(the log is what the network's partners read to see who changed what)."""

from __future__ import annotations

import ast
from pathlib import Path

from facilitator.db import Database
from facilitator.flow import Role
from facilitator.i18n import catalog
from facilitator.services import (
    audit,
    audit_view,
    group_changes,
    import_plan,
    importer,
    organizations,
    people,
    people_merge,
    people_search,
    person_mail,
    setup,
    spreadsheet,
    staff,
    staff_links,
    strategies,
)
from facilitator.services.scope import Scope
from tests.support.setup_forms import PASSWORD, form

PACKAGE = Path(__file__).resolve().parents[2] / "facilitator"


def _actions_written() -> set[str]:
    """The action of every ``audit.record(...)`` call in the package: a literal, either literal
    of a conditional, or a name the function set to one of those."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            named = {
                target.id: node.value
                for node in ast.walk(function)
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(function):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"
                ):
                    continue
                action = node.args[3]
                if isinstance(action, ast.Name):
                    if action.id not in named:
                        continue  # a helper's parameter: its callers' words are read below
                    action = named[action.id]
                options = (
                    [action.body, action.orelse] if isinstance(action, ast.IfExp) else [action]
                )
                for option in options:
                    assert isinstance(option, ast.Constant), f"{path}:{node.lineno}"
                    found.add(str(option.value))
    return found


def test_every_action_written_has_its_name_in_both_languages() -> None:
    written = _actions_written()
    assert {"network.create", "staff.invite", "person.merge", "people.import"} <= written
    for lang in ("he", "en"):
        missing = sorted(a for a in written if f"audit.action.{a}" not in catalog(lang))
        assert not missing, (lang, missing)


async def test_the_log_of_a_networks_first_changes_has_no_raw_words(db: Database) -> None:
    nid, bb = await setup.create_network(db, form())
    scope = Scope(nid, Role.BACKBONE, None)
    fac, token = await staff.invite(
        db, nid, bb, name="מנחה", email="fac@example.org", role="facilitator"
    )
    await staff_links.accept_invite(db, token, name="מנחה חדשה", password=PASSWORD)
    gid = await group_changes.create_group(db, scope, bb, "קבוצת עבודה", "working_group", "מטרה")
    await staff.update_staff(db, nid, bb, fac, role="facilitator", group_ids=[gid])
    await staff.set_active(db, nid, bb, fac, active=False)
    await staff.set_active(db, nid, bb, fac, active=True)
    await staff_links.reset_password(db, await staff.reset_link(db, nid, bb, fac), PASSWORD + "!")
    table = spreadsheet.read_table(
        "שם,ארגון,מגזר,טלפון\nדנה,עמותת גשר,עמותה,050-1234567\nדני,גשר,קהילה,\n".encode()
    )
    seen = await import_plan.preview(db, nid, table)
    await importer.apply(db, nid, bb, table, expected=seen.fingerprint)
    listed = (await people_search.search(db, nid, people_search.Query()))["people"]
    dana, dani = sorted(p["id"] for p in listed)
    orgs = sorted(o["id"] for o in await organizations.list_organizations(db, nid))
    await organizations.update_organization(db, nid, bb, orgs[0], "עמותת גשר", "community", "")
    await organizations.merge(db, nid, bb, orgs[1], orgs[0])
    await people.update_person(
        db, nid, bb, dana, name="דנה", organization_id=orgs[0], email="d@example.org",
        phone=None, group_ids=[gid], language="en",
    )  # fmt: skip
    await person_mail.send_link(db, nid, bb, dana)
    await people_merge.merge(db, nid, bb, dana, dani)
    await group_changes.add_member(db, scope, bb, gid, dana)
    await group_changes.assign_facilitator(db, scope, bb, gid, fac)
    await strategies.create_strategy(
        db, nid, bb, strategies.StrategyInput("יעד", "פחות נשירה", "5%", "2027-06-30", (gid,))
    )
    entries = await audit.entries(db, nid)
    assert len({e["action"] for e in entries}) >= 15
    for lang in ("he", "en"):
        words = catalog(lang)
        for entry in entries:
            shown = audit_view.readable(entry, lang, "Asia/Jerusalem")
            where = (lang, entry["action"])
            assert shown["action_text"] != entry["action"], where
            before, after = entry["before"] or {}, entry["after"] or {}
            fields = [f for f in {*before, *after} if audit_view._worth_showing(f, before, after)]
            for value in [*before.values(), *after.values()]:
                if isinstance(value, dict):  # a merge keeps both records whole
                    fields += [f for f in value if not f.endswith("_id")]
            for field in fields:
                assert f"audit.field.{field}" in words or f"field.{field}" in words, (where, field)
            for change in shown["changes"]:
                for value in (change["before"], change["after"]):
                    assert "_" not in (value or ""), (where, change["field"], value)
