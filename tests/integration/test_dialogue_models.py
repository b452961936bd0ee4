"""Model choice: a conversation may pick one of the models its owner's plan allows."""

from __future__ import annotations

from tests.factories import create_user


async def _plan(db, plan_id: str, models: list[str]) -> None:
    await db.execute(
        "INSERT INTO plans (id, name, per_hour, per_day, priority, model, models) VALUES ($1, $1, 10, 100, 5, $2, $3)",
        plan_id,
        models[0],
        models,
    )


async def test_a_conversation_picks_a_model_of_its_plan_and_422_names_model_otherwise(client, db, settings):
    await _plan(db, "studio", ["gpt-4o-mini", "gpt-4o"])
    user = await create_user(db, settings, plan="studio")

    created = await client.post("/conversations", json={"model": "gpt-4o"}, headers=user.headers)
    assert created.status_code == 201, created.text
    assert created.json()["model"] == "gpt-4o"
    conversation = created.json()["id"]

    for body in ({"model": "o3-pro"}, {"model": ""}):
        refused = await client.post("/conversations", json=body, headers=user.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "model"
    patched = await client.patch(f"/conversations/{conversation}", json={"model": "o3-pro"}, headers=user.headers)
    assert patched.status_code == 422 and patched.json()["field"] == "model"
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE user_id = $1::uuid", user.id) == 1

    back = await client.patch(f"/conversations/{conversation}", json={"model": None}, headers=user.headers)
    assert back.status_code == 200 and back.json()["model"] is None
    again = await client.patch(f"/conversations/{conversation}", json={"model": "gpt-4o"}, headers=user.headers)
    assert again.json()["model"] == "gpt-4o"


async def test_a_plan_change_moves_conversations_to_an_allowed_model(client, db, settings):
    await _plan(db, "studio", ["gpt-4o-mini", "gpt-4o"])
    await _plan(db, "basic", ["gpt-4o-mini"])
    admin = await create_user(db, settings, role="admin")
    user = await create_user(db, settings, plan="studio")
    kept = (await client.post("/conversations", json={"model": "gpt-4o-mini"}, headers=user.headers)).json()["id"]
    moved = (await client.post("/conversations", json={"model": "gpt-4o"}, headers=user.headers)).json()["id"]

    response = await client.put(f"/admin/users/{user.id}/subscription", json={"plan": "basic"}, headers=admin.headers)
    assert response.status_code == 200, response.text
    models = dict(await db.fetch("SELECT id::text, model FROM conversations WHERE user_id = $1::uuid", user.id))
    assert models == {kept: "gpt-4o-mini", moved: None}


async def test_a_conversation_created_with_a_title_keeps_it_as_the_users(client, db, settings):
    user = await create_user(db, settings)
    titled = (await client.post("/conversations", json={"title": "Virtue"}, headers=user.headers)).json()["id"]
    untitled = (await client.post("/conversations", json={}, headers=user.headers)).json()["id"]
    sources = dict(await db.fetch("SELECT id::text, title_source FROM conversations"))
    assert sources == {titled: "user", untitled: "default"}
    await client.patch(f"/conversations/{untitled}", json={"title": "Courage"}, headers=user.headers)
    assert await db.fetchval("SELECT title_source FROM conversations WHERE id = $1::uuid", untitled) == "user"
