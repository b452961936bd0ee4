"""Moderation: pending items are private, moderators decide, every decision is audited."""

from __future__ import annotations

import pytest

from tests.factories import create_user
from tests.integration.library_support import approve, submit_resource, submit_technique


async def _audit(db, target_id: str) -> list[tuple]:
    rows = await db.fetch(
        "SELECT actor_id::text, action, target_type, details FROM audit_log WHERE target_id = $1 ORDER BY id", target_id
    )
    return [(r["actor_id"], r["action"], r["target_type"], r["details"]) for r in rows]


async def test_pending_item_is_404_to_others_and_queued_for_moderators(client, db, settings):
    author, other = await create_user(db, settings), await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    admin = await create_user(db, settings, role="admin")
    technique = await submit_technique(client, author, name="Pending quiz")
    resource = await submit_resource(client, author, title="Pending paper")
    assert technique["status"] == "pending" and technique["version_status"] == "pending"

    for path in (
        f"/techniques/{technique['id']}",
        f"/techniques/{technique['id']}/versions",
        f"/resources/{resource['id']}",
    ):
        assert (await client.get(path, headers=other.headers)).status_code == 404
        assert (await client.get(path, headers=author.headers)).status_code == 200
        assert (await client.get(path, headers=moderator.headers)).status_code == 200
    for path, own_id in (("/techniques", technique["id"]), ("/resources", resource["id"])):
        for sort in ("top", "new"):
            seen_by_other = (await client.get(f"{path}?sort={sort}", headers=other.headers)).json()["items"]
            seen_by_author = (await client.get(f"{path}?sort={sort}", headers=author.headers)).json()["items"]
            assert own_id not in [i["id"] for i in seen_by_other]
            assert own_id in [i["id"] for i in seen_by_author]

    for who in (moderator, admin):
        queue = await client.get("/moderation/queue", headers=who.headers)
        assert queue.status_code == 200
        assert [(i["type"], i["id"]) for i in queue.json()["items"]] == [
            ("technique", technique["id"]),
            ("resource", resource["id"]),
        ]  # oldest first
        assert queue.json()["items"][0]["system_prompt"] == technique["system_prompt"]


async def test_plain_user_cannot_moderate(client, db, settings):
    author = await create_user(db, settings)
    technique = await submit_technique(client, author)
    resource = await submit_resource(client, author)
    for who in (author, await create_user(db, settings)):
        assert (await client.get("/moderation/queue", headers=who.headers)).status_code == 403
        for kind, item_id in (("techniques", technique["id"]), ("resources", resource["id"])):
            approved = await client.post(f"/moderation/{kind}/{item_id}/approve", headers=who.headers)
            rejected = await client.post(
                f"/moderation/{kind}/{item_id}/reject", json={"reason": "no"}, headers=who.headers
            )
            assert (approved.status_code, rejected.status_code) == (403, 403)
            assert approved.json()["code"] == "forbidden"
    assert await db.fetchval("SELECT count(*) FROM techniques WHERE NOT is_builtin AND status = 'pending'") == 1
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_approval_makes_items_visible_and_is_audited(client, db, settings):
    author, other = await create_user(db, settings), await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    technique = await submit_technique(client, author, name="Steelmanning")
    resource = await submit_resource(client, author)

    decided = await approve(client, moderator, "techniques", technique["id"], version=1)
    assert (decided["status"], decided["approved_version"], decided["version_status"]) == ("approved", 1, "approved")
    await approve(client, moderator, "resources", resource["id"])

    shown = await client.get(f"/techniques/{technique['id']}", headers=other.headers)
    assert shown.status_code == 200 and shown.json()["system_prompt"] == technique["system_prompt"]
    assert (await client.get(f"/resources/{resource['id']}", headers=other.headers)).json()["status"] == "approved"
    listed = (await client.get("/techniques?sort=new&q=steelman", headers=other.headers)).json()["items"]
    assert [i["id"] for i in listed] == [technique["id"]]
    assert (await client.get("/moderation/queue", headers=moderator.headers)).json()["items"] == []

    assert await _audit(db, technique["id"]) == [(moderator.id, "technique.approve", "technique", '{"version": 1}')]
    assert await _audit(db, resource["id"]) == [(moderator.id, "resource.approve", "resource", "{}")]
    again = await client.post(f"/moderation/resources/{resource['id']}/approve", headers=moderator.headers)
    assert again.status_code == 409


async def test_rejection_keeps_items_private_with_the_reason(client, db, settings):
    author, other = await create_user(db, settings), await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    technique = await submit_technique(client, author)
    resource = await submit_resource(client, author)

    no_reason = await client.post(
        f"/moderation/techniques/{technique['id']}/reject", json={"reason": ""}, headers=moderator.headers
    )
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    blank = await client.post(
        f"/moderation/resources/{resource['id']}/reject", json={"reason": "   "}, headers=moderator.headers
    )
    assert blank.status_code == 422 and blank.json()["field"] == "reason"

    for kind, item in (("techniques", technique), ("resources", resource)):
        response = await client.post(
            f"/moderation/{kind}/{item['id']}/reject", json={"reason": "Gives answers away"}, headers=moderator.headers
        )
        assert response.status_code == 200, response.text
        assert (await client.get(f"/{kind}/{item['id']}", headers=other.headers)).status_code == 404
        mine = (await client.get(f"/{kind}/{item['id']}", headers=author.headers)).json()
        assert (mine["status"], mine["rejection_reason"]) == ("rejected", "Gives answers away")
        listed = (await client.get(f"/{kind}", headers=other.headers)).json()["items"]
        assert item["id"] not in [i["id"] for i in listed]

    assert await _audit(db, technique["id"]) == [
        (moderator.id, "technique.reject", "technique", '{"reason": "Gives answers away", "version": 1}')
    ]
    assert [a[1] for a in await _audit(db, resource["id"])] == ["resource.reject"]


async def test_moderating_missing_or_stale_versions(client, db, settings):
    author = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    technique = await submit_technique(client, author)
    await client.patch(f"/techniques/{technique['id']}", json={"name": "Renamed"}, headers=author.headers)
    stale = await client.post(
        f"/moderation/techniques/{technique['id']}/approve", json={"version": 1}, headers=moderator.headers
    )
    assert stale.status_code == 409 and stale.json()["field"] == "version"
    missing = await client.post(
        "/moderation/techniques/00000000-0000-0000-0000-000000000000/approve", headers=moderator.headers
    )
    assert missing.status_code == 404
    builtin = await db.fetchval("SELECT id::text FROM techniques WHERE is_default")
    nothing = await client.post(
        f"/moderation/techniques/{builtin}/reject", json={"reason": "x"}, headers=moderator.headers
    )
    assert nothing.status_code == 409
    # The superseded version 1 is out of the queue; version 2 is in it.
    queue = (await client.get("/moderation/queue", headers=moderator.headers)).json()["items"]
    assert [(i["id"], i["version"], i["title"]) for i in queue] == [(technique["id"], 2, "Renamed")]
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


@pytest.mark.parametrize("limit", [1, 2])
async def test_moderation_queue_pages(client, db, settings, limit):
    author = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    expected = [(await submit_technique(client, author, name=f"T{i}"))["id"] for i in range(2)]
    expected += [(await submit_resource(client, author, title=f"R{i}"))["id"] for i in range(2)]
    seen, cursor = [], None
    while True:
        page = (
            await client.get(
                "/moderation/queue",
                params={"limit": limit, **({"cursor": cursor} if cursor else {})},
                headers=moderator.headers,
            )
        ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


async def test_moderators_cannot_decide_on_their_own_submissions_but_admins_can(client, db, settings):
    moderator = await create_user(db, settings, role="moderator")
    admin = await create_user(db, settings, role="admin")
    own = await submit_technique(client, moderator, name="My own method")
    response = await client.post(f"/moderation/techniques/{own['id']}/approve", json={}, headers=moderator.headers)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert await db.fetchval("SELECT status FROM techniques WHERE id = $1::uuid", own["id"]) == "pending"
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE target_id = $1", own["id"]) == 0

    admins_own = await submit_resource(client, admin, title="An admin's reading")
    response = await client.post(f"/moderation/resources/{admins_own['id']}/approve", json={}, headers=admin.headers)
    assert response.status_code == 200
