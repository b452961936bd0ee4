"""Resources: validated URLs and kinds, the same moderation, edits go back to review."""

from __future__ import annotations

from tests.factories import create_user
from tests.integration.library_support import approve, submit_resource


async def test_urls_and_kinds_are_validated(client, db, settings):
    user = await create_user(db, settings)
    for url in (
        "ftp://example.org/x",
        "javascript:alert(1)",
        "https://",
        "example.org",
        "https://a b.org",
        "https://example.org/" + "x" * 2048,
    ):
        body = {"title": "Bad", "url": url, "kind": "article"}
        response = await client.post("/resources", json=body, headers=user.headers)
        assert response.status_code == 422 and response.json()["field"] == "url", url
    bad_kind = await client.post(
        "/resources", json={"title": "T", "url": "https://example.org", "kind": "meme"}, headers=user.headers
    )
    assert bad_kind.status_code == 422 and bad_kind.json()["field"] == "kind"
    sneaky = await client.post(
        "/resources",
        json={"title": "T", "url": "https://example.org", "kind": "book", "status": "approved"},
        headers=user.headers,
    )
    assert sneaky.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM resources") == 0
    created = await submit_resource(client, user, url="http://example.org/path?q=1#frag")
    assert (created["status"], created["url"], created["author_id"]) == (
        "pending",
        "http://example.org/path?q=1#frag",
        user.id,
    )


async def test_editing_an_approved_resource_sends_it_back_to_moderation(client, db, settings):
    author, other = await create_user(db, settings), await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    resource = await submit_resource(client, author)
    rid = resource["id"]
    await approve(client, moderator, "resources", rid)
    await client.put(f"/resources/{rid}/vote", json={"value": 1}, headers=other.headers)

    unchanged = await client.patch(f"/resources/{rid}", json={"title": resource["title"]}, headers=author.headers)
    assert unchanged.json()["status"] == "approved"  # nothing changed, nothing to review
    assert (await client.patch(f"/resources/{rid}", json={"title": "x"}, headers=other.headers)).status_code == 404

    edited = await client.patch(f"/resources/{rid}", json={"url": "https://example.org/meno-2"}, headers=author.headers)
    assert (edited.json()["status"], edited.json()["url"], edited.json()["upvotes"]) == (
        "pending",
        "https://example.org/meno-2",
        1,
    )
    assert (await client.get(f"/resources/{rid}", headers=other.headers)).status_code == 404
    queue = (await client.get("/moderation/queue", headers=moderator.headers)).json()["items"]
    assert [(i["type"], i["id"], i["url"]) for i in queue] == [("resource", rid, "https://example.org/meno-2")]
    await approve(client, moderator, "resources", rid)
    assert (await client.get(f"/resources/{rid}", headers=other.headers)).json()["my_vote"] == 1


async def test_deleting_a_resource(client, db, settings):
    author, other = await create_user(db, settings), await create_user(db, settings)
    resource = await submit_resource(client, author)
    assert (await client.delete(f"/resources/{resource['id']}", headers=other.headers)).status_code == 404
    assert (await client.delete(f"/resources/{resource['id']}", headers=author.headers)).status_code == 204
    assert (await client.get(f"/resources/{resource['id']}", headers=author.headers)).status_code == 404
    assert (await client.get("/resources", headers=author.headers)).json()["items"] == []
