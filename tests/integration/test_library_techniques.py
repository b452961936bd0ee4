"""Techniques: the built-ins, submission, versions, listing, and version pinning."""

from __future__ import annotations

import pytest

from tests.factories import create_user
from tests.integration.library_support import approve, prompt, submit_technique, users


async def test_builtin_techniques_are_seeded_approved_with_one_default(client, db, settings):
    user = await create_user(db, settings)
    rows = await db.fetch("""SELECT t.slug, t.is_default, t.status, t.approved_version, v.status AS vstatus,
                                    v.system_prompt, v.questioning_style
                               FROM techniques t JOIN technique_versions v ON v.technique_id = t.id
                              WHERE t.is_builtin""")
    assert len(rows) >= 8
    assert {
        "clarifying-concepts",
        "probing-assumptions",
        "probing-reasons-evidence",
        "viewpoints-perspectives",
        "implications-consequences",
        "questioning-the-question",
        "elenchus",
        "maieutics",
    } <= {r["slug"] for r in rows}
    assert sum(r["is_default"] for r in rows) == 1
    for r in rows:
        assert (r["status"], r["approved_version"], r["vstatus"]) == ("approved", 1, "approved")
        assert "Teach only by asking" in r["system_prompt"] and "Never lecture" in r["system_prompt"]
        assert len(r["system_prompt"]) > 1000 and r["questioning_style"]

    listed = (await client.get("/techniques?limit=100", headers=user.headers)).json()
    assert len(listed["items"]) == len(rows) and listed["next_cursor"] is None
    default = next(i for i in listed["items"] if i["is_default"])
    shown = (await client.get(f"/techniques/{default['id']}", headers=user.headers)).json()
    assert shown["is_builtin"] and shown["version"] == 1 and shown["author_id"] is None
    for change in (
        client.patch(f"/techniques/{default['id']}", json={"name": "Mine now"}, headers=user.headers),
        client.delete(f"/techniques/{default['id']}", headers=user.headers),
    ):
        assert (await change).status_code == 404


async def test_request_bodies_cannot_set_status_owner_or_counters(client, db, settings):
    user = await create_user(db, settings)
    for extra in ({"status": "approved"}, {"user_id": user.id}, {"upvotes": 10}, {"is_default": True}):
        sneaky = {"name": "Sneaky", "system_prompt": prompt(), **extra}
        assert (await client.post("/techniques", json=sneaky, headers=user.headers)).status_code == 422, extra
    for body in ({"name": "", "system_prompt": prompt()}, {"name": "x"}, {"name": "x", "system_prompt": ""}):
        response = await client.post("/techniques", json=body, headers=user.headers)
        assert response.status_code == 422 and response.json()["field"] in ("name", "system_prompt")
    assert await db.fetchval("SELECT count(*) FROM techniques WHERE NOT is_builtin") == 0
    technique = await submit_technique(client, user)
    empty = await client.patch(f"/techniques/{technique['id']}", json={}, headers=user.headers)
    assert empty.status_code == 422
    sneaky = await client.patch(f"/techniques/{technique['id']}", json={"approved_version": 1}, headers=user.headers)
    assert sneaky.status_code == 422


async def test_edit_of_an_approved_technique_stays_live_until_approved(client, db, settings):
    author, other = await create_user(db, settings), await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    technique = await submit_technique(client, author, name="Version one")
    tid = technique["id"]
    await approve(client, moderator, "techniques", tid)

    edited = await client.patch(
        f"/techniques/{tid}", json={"name": "Version two", "system_prompt": prompt(2)}, headers=author.headers
    )
    assert edited.status_code == 200
    assert (edited.json()["version"], edited.json()["version_status"], edited.json()["status"]) == (
        2,
        "pending",
        "approved",
    )
    assert edited.json()["questioning_style"] == technique["questioning_style"]  # unchanged fields carry over

    public = (await client.get(f"/techniques/{tid}", headers=other.headers)).json()
    assert (public["version"], public["name"], public["system_prompt"]) == (1, "Version one", prompt(1))
    listed = (await client.get("/techniques?q=version", headers=other.headers)).json()["items"]
    assert [(i["id"], i["name"]) for i in listed] == [(tid, "Version one")]
    history = (await client.get(f"/techniques/{tid}/versions", headers=other.headers)).json()["items"]
    assert [v["version"] for v in history] == [1]
    history = (await client.get(f"/techniques/{tid}/versions", headers=author.headers)).json()["items"]
    assert [(v["version"], v["status"]) for v in history] == [(2, "pending"), (1, "approved")]

    rejected = await client.post(
        f"/moderation/techniques/{tid}/reject", json={"reason": "Too leading"}, headers=moderator.headers
    )
    assert (rejected.json()["status"], rejected.json()["approved_version"]) == ("approved", 1)
    assert (await client.get(f"/techniques/{tid}", headers=other.headers)).json()["version"] == 1
    history = (await client.get(f"/techniques/{tid}/versions", headers=author.headers)).json()["items"]
    assert (history[0]["status"], history[0]["rejection_reason"]) == ("rejected", "Too leading")

    await client.patch(f"/techniques/{tid}", json={"name": "Version three"}, headers=author.headers)
    await approve(client, moderator, "techniques", tid, version=3)
    public = (await client.get(f"/techniques/{tid}", headers=other.headers)).json()
    assert (public["version"], public["name"], public["system_prompt"]) == (3, "Version three", prompt(2))
    history = (await client.get(f"/techniques/{tid}/versions?limit=1", headers=other.headers)).json()
    assert [v["version"] for v in history["items"]] == [3]
    rest = (
        await client.get(
            f"/techniques/{tid}/versions", params={"cursor": history["next_cursor"]}, headers=other.headers
        )
    ).json()
    assert [v["version"] for v in rest["items"]] == [1] and rest["next_cursor"] is None


async def test_conversation_started_on_v1_keeps_v1_after_an_edit_is_approved(client, db, settings):
    author, learner = await create_user(db, settings), await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    technique = await submit_technique(client, author)
    tid = technique["id"]
    await approve(client, moderator, "techniques", tid)

    started = await client.post("/conversations", json={"technique_id": tid}, headers=learner.headers)
    assert started.status_code == 201, started.text
    conversation = started.json()
    assert conversation["technique_version"] == 1

    await client.patch(f"/techniques/{tid}", json={"system_prompt": prompt(2)}, headers=author.headers)
    await approve(client, moderator, "techniques", tid)
    assert (await client.get(f"/techniques/{tid}", headers=learner.headers)).json()["version"] == 2

    pinned = await db.fetchrow(
        """SELECT c.technique_version, v.system_prompt FROM conversations c
             JOIN technique_versions v ON v.technique_id = c.technique_id AND v.version = c.technique_version
            WHERE c.id = $1::uuid""",
        conversation["id"],
    )
    assert (pinned["technique_version"], pinned["system_prompt"]) == (1, prompt(1))
    renamed = await client.patch(
        f"/conversations/{conversation['id']}", json={"title": "Still v1"}, headers=learner.headers
    )
    assert renamed.json()["technique_version"] == 1

    # Switching (choosing the technique again) moves the conversation to the live version.
    switched = await client.patch(
        f"/conversations/{conversation['id']}", json={"technique_id": tid}, headers=learner.headers
    )
    assert switched.status_code == 200 and switched.json()["technique_version"] == 2
    fresh = await client.post("/conversations", json={"technique_id": tid}, headers=learner.headers)
    assert fresh.json()["technique_version"] == 2


async def test_deleted_technique_disappears_but_pinned_conversations_keep_it(client, db, settings):
    author, other = await create_user(db, settings), await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    technique = await submit_technique(client, author)
    await approve(client, moderator, "techniques", technique["id"])
    conversation = (
        await client.post("/conversations", json={"technique_id": technique["id"]}, headers=other.headers)
    ).json()
    assert (await client.delete(f"/techniques/{technique['id']}", headers=other.headers)).status_code == 404
    assert (await client.delete(f"/techniques/{technique['id']}", headers=author.headers)).status_code == 204
    for who in (author, other, moderator):
        assert (await client.get(f"/techniques/{technique['id']}", headers=who.headers)).status_code == 404
    assert await db.fetchval("SELECT technique_version FROM conversations WHERE id = $1::uuid", conversation["id"]) == 1


@pytest.mark.parametrize("sort", ["top", "new"])
async def test_listing_pages_through_everything_once_in_order(client, db, settings, sort):
    author = await create_user(db, settings)
    viewer = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    voters = await users(db, settings, 3)
    community = []
    for i in range(5):
        item = await submit_technique(client, author, name=f"Community {i}")
        await approve(client, moderator, "techniques", item["id"])
        community.append(item["id"])
    for voter in voters[:3]:  # scores: item 0 = 3 up, item 1 = 2 up, item 2 = 1 up 1 down ...
        await client.put(f"/techniques/{community[0]}/vote", json={"value": 1}, headers=voter.headers)
    for voter in voters[:2]:
        await client.put(f"/techniques/{community[1]}/vote", json={"value": 1}, headers=voter.headers)
    await client.put(f"/techniques/{community[2]}/vote", json={"value": 1}, headers=voters[0].headers)
    await client.put(f"/techniques/{community[2]}/vote", json={"value": -1}, headers=voters[1].headers)
    own_pending = (await submit_technique(client, viewer, name="My draft"))["id"]

    everything = (await client.get(f"/techniques?sort={sort}&limit=100", headers=viewer.headers)).json()["items"]
    paged, cursors = [], [None]
    while True:
        params = {"sort": sort, "limit": 4, **({"cursor": cursors[-1]} if cursors[-1] else {})}
        page = (await client.get("/techniques", params=params, headers=viewer.headers)).json()
        paged += page["items"]
        if page["next_cursor"] is None:
            break
        cursors.append(page["next_cursor"])
    assert [i["id"] for i in paged] == [i["id"] for i in everything]
    assert (
        len(everything)
        == len(set(i["id"] for i in everything))
        == 5 + 1 + await db.fetchval("SELECT count(*) FROM techniques WHERE is_builtin")
    )
    assert own_pending in [i["id"] for i in everything]
    if sort == "top":
        scores = [i["score"] for i in everything]
        assert scores == sorted(scores, reverse=True)
        assert [i["id"] for i in everything[:3]] == community[:3]
    else:
        stamps = [i["created_at"] for i in everything]
        assert stamps == sorted(stamps, reverse=True)
        assert everything[0]["id"] == own_pending

    # A cursor of the other order, or of the resources list, is refused rather than misapplied.
    other_sort = "new" if sort == "top" else "top"
    for path, params in (("/techniques", {"sort": other_sort}), ("/resources", {"sort": sort})):
        wrong = await client.get(path, params={**params, "cursor": cursors[1]}, headers=viewer.headers)
        assert wrong.status_code == 422 and wrong.json()["field"] == "cursor"


async def test_search_filters_by_name_or_description_literally(client, db, settings):
    user = await create_user(db, settings)
    await submit_technique(client, user, name="100% rigour", description="no shortcuts")
    await submit_technique(client, user, name="Plain", description="a_b escape test")
    names = lambda r: sorted(i["name"] for i in r.json()["items"])  # noqa: E731
    assert names(await client.get("/techniques?q=100%25", headers=user.headers)) == ["100% rigour"]
    assert names(await client.get("/techniques?q=A_B", headers=user.headers)) == ["Plain"]
    assert names(await client.get("/techniques?q=elenchus", headers=user.headers)) == ["Elenchus (cross-examination)"]
    assert (await client.get("/techniques?sort=best", headers=user.headers)).status_code == 422
    assert (await client.get("/techniques?limit=101", headers=user.headers)).status_code == 422
