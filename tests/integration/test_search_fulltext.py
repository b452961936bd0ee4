"""GET /search: web-search syntax, stemming, <mark> snippets, ranking and cursor paging,
the user's language, and strict per-user scope over recent and archived messages."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from core.database.gateway import Db
from core.database.queries import QUERIES
from tests.factories import create_user


async def _write(
    db: asyncpg.Connection, user_id: str, texts: list[str], *, archived: int = 0, ts_config: str = "english"
) -> uuid.UUID:
    """A conversation holding `texts` as seq 1..n; the first `archived` of them in last year's archive."""
    conversation_id = await db.fetchval(
        "INSERT INTO conversations (user_id, message_count, archived_count) VALUES ($1::uuid, $2, $3) RETURNING id",
        user_id,
        len(texts),
        archived,
    )
    long_ago = datetime.now(UTC) - timedelta(days=365)
    await db.execute("SELECT mukti_ensure_partitions_v1('archived_messages', 'month', $1, 1)", long_ago)
    for seq, text in enumerate(texts, start=1):
        table, created_at = (
            ("archived_messages", long_ago + timedelta(minutes=seq))
            if seq <= archived
            else ("recent_messages", datetime.now(UTC))
        )
        await db.execute(
            f"INSERT INTO {table} (conversation_id, seq, user_id, role, content, ts_config, created_at)"
            " VALUES ($1, $2, $3::uuid, $4, $5, $6::regconfig, $7)",
            conversation_id,
            seq,
            user_id,
            "user" if seq % 2 else "assistant",
            text,
            ts_config,
            created_at,
        )
    return conversation_id


async def _search(client, user, **params) -> dict:
    response = await client.get("/search", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _contents(body: dict) -> set[tuple[str, int]]:
    return {(item["conversation_id"], item["seq"]) for item in body["items"]}


async def test_stemming_phrases_exclusions_and_or(db, client, settings):
    user = await create_user(db, settings)
    c = str(
        await _write(
            db,
            user.id,
            [
                "Which questions would Socrates ask first?",  # 1 (archived)
                "Can virtue be taught at all?",  # 2 (archived)
                "What is taught is not always virtue.",  # 3
                "Justice is the theme of the Republic.",  # 4
                "Courage appears in the Laches.",  # 5
            ],
            archived=2,
        )
    )

    assert _contents(await _search(client, user, q="questioning")) == {(c, 1)}
    assert _contents(await _search(client, user, q='"virtue be taught"')) == {(c, 2)}
    assert _contents(await _search(client, user, q="virtue taught")) == {(c, 2), (c, 3)}
    assert _contents(await _search(client, user, q="virtue -always")) == {(c, 2)}
    assert _contents(await _search(client, user, q="justice or courage")) == {(c, 4), (c, 5)}
    assert _contents(await _search(client, user, q="the of is")) == set()  # stop words only: nothing, not everything


async def test_items_carry_marked_snippets_and_escape_markup(db, client, settings):
    user = await create_user(db, settings)
    c = str(await _write(db, user.id, ["Is <script>alert(1)</script> knowledge the same as recollection?"]))
    body = await _search(client, user, q="recollect")
    [item] = body["items"]
    assert item["conversation_id"] == c and item["seq"] == 1 and item["role"] == "user"
    assert "<mark>recollection</mark>" in item["snippet"]
    # The content's own markup arrives escaped: the only tags are the marks.
    unmarked = item["snippet"].replace("<mark>", "").replace("</mark>", "")
    assert "<" not in unmarked and ">" not in unmarked and "script&gt;" in unmarked
    assert item["rank"] > 0 and item["created_at"].endswith("Z")
    assert body["next_cursor"] is None


async def test_two_users_with_the_same_words_never_see_each_others_messages(db, client, settings):
    alice = await create_user(db, settings)
    bob = await create_user(db, settings)
    words = ["What is the examined life?", "Is the unexamined life worth living?", "examined examined examined"]
    alice_conversation = str(await _write(db, alice.id, words, archived=2))
    bob_conversation = str(await _write(db, bob.id, words, archived=1))
    # Bob writes a message containing the text of Alice's scope lexeme: it must not put
    # his message into her results (the scope is weight A; words are weight D).
    alice_lexeme = "u" + alice.id.replace("-", "")
    await db.execute(
        "UPDATE recent_messages SET content = $2 || ' examined' WHERE conversation_id = $1 AND seq = 3",
        uuid.UUID(bob_conversation),
        alice_lexeme,
    )

    for user, own in ((alice, alice_conversation), (bob, bob_conversation)):
        body = await _search(client, user, q="examined")
        assert {item["conversation_id"] for item in body["items"]} == {own}
        assert len(body["items"]) == 2
    assert _contents(await _search(client, alice, q=alice_lexeme)) == set()
    assert (await _search(client, bob, q="examined", conversation_id=alice_conversation))["items"] == []


async def test_filter_by_conversation(db, client, settings):
    user = await create_user(db, settings)
    first = str(await _write(db, user.id, ["the allegory of the cave"], archived=1))
    second = str(await _write(db, user.id, ["shadows in the cave"]))
    assert {i["conversation_id"] for i in (await _search(client, user, q="cave"))["items"]} == {first, second}
    assert {i["conversation_id"] for i in (await _search(client, user, q="cave", conversation_id=second))["items"]} == {
        second
    }


async def test_cursor_pages_are_ranked_complete_and_bound_to_their_query(db, client, settings):
    user = await create_user(db, settings)
    # 'form' appears 1..4 times: ranks differ, and ties are broken by (conversation, seq).
    texts = [" ".join(["form"] * (1 + i % 4) + [f"filler{i}"]) for i in range(23)]
    await _write(db, user.id, texts[:12], archived=7)
    await _write(db, user.id, texts[12:], archived=3)

    items, cursor, pages = [], None, 0
    while True:
        body = await _search(client, user, q="forms", limit=5, **({"cursor": cursor} if cursor else {}))
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5 and len(items) == 23
    assert len({(i["conversation_id"], i["seq"]) for i in items}) == 23
    keys = [(-i["rank"], i["conversation_id"], i["seq"]) for i in items]
    assert keys == sorted(keys)

    first = await _search(client, user, q="forms", limit=5)
    response = await client.get(
        "/search", params={"q": "filler1", "cursor": first["next_cursor"]}, headers=user.headers
    )
    assert response.status_code == 422 and response.json()["field"] == "cursor"


async def test_the_users_language_chooses_the_configuration(db, client, settings):
    french = await create_user(db, settings, preferences={"language": "fr"})
    english = await create_user(db, settings, preferences={"language": "klingon"})  # unknown: english
    text = ["les philosophes parlaient de la vérité"]
    await _write(db, french.id, text, ts_config="french")
    await _write(db, english.id, text, ts_config="french")
    assert len((await _search(client, french, q="parler vérités"))["items"]) == 1
    assert (await _search(client, english, q="parler vérités"))["items"] == []


async def test_empty_or_bad_input_is_422_naming_the_field(db, client, settings):
    user = await create_user(db, settings)
    for params, field in (
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 1001}, "q"),
        ({"q": "a", "limit": 0}, "limit"),
        ({"q": "a", "cursor": "%%%"}, "cursor"),
        ({"q": "a", "conversation_id": "nope"}, "conversation_id"),
    ):
        response = await client.get("/search", params=params, headers=user.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["field"] == field, (params, response.json())


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def test_the_plan_reads_only_the_users_months_through_the_scoped_index(db, settings):
    """A search plans and probes only the partitions of the months holding the user's
    archive (search_archive_span), however many months the archive spans."""
    user, other = await create_user(db, settings), await create_user(db, settings)
    await _write(db, user.id, ["the cave", "the sun", "the line"], archived=2)  # a year ago
    other_conversation = await _write(db, other.id, ["the cave"])
    two_years_ago = datetime.now(UTC) - timedelta(days=730)
    await db.execute("SELECT mukti_ensure_partitions_v1('archived_messages', 'month', $1, 24)", two_years_ago)
    await db.execute(
        "INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)"
        " VALUES ($1, 1, $2::uuid, 'user', 'the cave', $3)",
        other_conversation,
        other.id,
        two_years_ago,
    )
    all_partitions = await db.fetchval(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'archived_messages'::regclass"
    )
    assert all_partitions >= 24

    # A few rows: the planner would rightly seq-scan them; the index must still be the one usable.
    await db.execute("SET enable_seqscan = off")

    async def plan_of(user_id: str) -> list[dict]:
        span = await Db.on(db).fetchrow("search_archive_span", user_id=user_id, conversation_id=None)
        query = QUERIES["search_messages"]
        args = query.args(
            {
                "user_id": user_id,
                "q": "cave",
                "conversation_id": None,
                "after_rank": None,
                "after_conversation_id": None,
                "after_seq": None,
                "limit": 21,
                "archived_from": span["lo"],
                "archived_until": span["hi"],
            }
        )
        return list(_nodes(json.loads(await db.fetchval("EXPLAIN (FORMAT JSON) " + query.sql, *args))[0]["Plan"]))

    nodes = await plan_of(user.id)
    scanned = {n["Relation Name"] for n in nodes if n["Node Type"] == "Bitmap Heap Scan"}
    indexes = {n["Index Name"] for n in nodes if n["Node Type"] == "Bitmap Index Scan"}
    month = await db.fetchval(
        "SELECT DISTINCT tableoid::regclass::text FROM archived_messages WHERE user_id = $1::uuid", user.id
    )
    assert scanned == {month, "recent_messages"}
    # The partitions' indexes are named after the indexed function (derived from the parent's).
    assert indexes == {"recent_messages_scoped_search_idx", f"{month}_mukti_scoped_tsvector_v1_idx"}
    # A user with no archive plans no partition at all.
    nobody = await create_user(db, settings)
    assert {n.get("Relation Name") for n in await plan_of(nobody.id) if n["Node Type"] == "Bitmap Heap Scan"} == {
        "recent_messages"
    }
    assert not [
        n
        for n in nodes
        if n["Node Type"] in ("Seq Scan", "Index Scan") and n.get("Relation Name", "").endswith("messages")
    ]
