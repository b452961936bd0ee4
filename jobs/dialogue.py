"""Dialogue jobs: generated titles and follow-up questions (API.md "Dialogue").

Titles: mukti_complete_request_v3 queues `generate_title` (queue `titles`, priority 0,
below every question) when a conversation created without a title gets its first reply.

Follow-ups (seed 002's proactive messages, as Socratic spaced review): a periodic task
claims the conversations whose learner opted in and has been idle for their chosen days
without answering the last question (dialogue_claim_follow_ups: SKIP LOCKED, so runs at
once never claim one conversation twice), asks the LLM for one follow-up question under
the conversation's technique, and stores it with mukti_add_follow_up_v1 (message,
notification, webhook, usage event). They are paid by a system budget per UTC day
(MUKTI_FOLLOW_UP_DAILY_BUDGET), not by the learner's quota.
"""

from __future__ import annotations

import json
import logging
import re

from procrastinate import JobContext

from core.database.gateway import Db
from core.llm.prompts import FOLLOW_UP_PROMPT, TITLE_PROMPT
from jobs.answering import build_messages
from jobs.app import app
from jobs.resources import WorkerResources, resources_of

log = logging.getLogger("mukti.dialogue")

MAX_TITLE_CHARS = 80
FOLLOW_UP_BATCH = 50


def clean_title(raw: str) -> str | None:
    """One line, no surrounding quotes or trailing punctuation, at most MAX_TITLE_CHARS."""
    line = " ".join(raw.split())
    line = re.sub(r"^(title:\s*)", "", line, flags=re.IGNORECASE).strip(" \"'“”‘’*#.:;")
    if len(line) > MAX_TITLE_CHARS:
        line = line[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
    return line or None


@app.task(name="generate_title", queue="titles", pass_context=True)
async def generate_title(context: JobContext, conversation_id: str, user_id: str) -> str:
    res = resources_of(context)
    db = Db(res.pool).for_user(user_id)  # the conversation's owner (Row-Level Security)
    row = await db.fetchrow("dialogue_title_context", conversation_id=conversation_id)
    if row is None:
        return "nothing to do"  # deleted, or the user named it meanwhile
    dialogue = f"Learner: {row['question'] or ''}\nTutor: {row['reply'] or ''}"
    completion = await res.llm.complete(
        row["model"] or row["plan_model"],
        [{"role": "system", "content": TITLE_PROMPT}, {"role": "user", "content": dialogue}],
    )
    title = clean_title(completion.content)
    if title is None:
        return "no usable title"
    stored = await db.fetchval("dialogue_set_generated_title", conversation_id=conversation_id, title=title)
    return "titled" if stored else "named by the user meanwhile"


async def send_follow_ups(res: WorkerResources) -> int:
    """One run: claim what is due (within today's budget) and add a follow-up to each."""
    db = Db(res.pool).as_service("follow-ups: idle conversations of every learner who opted in")
    budget = res.settings.follow_up_daily_budget - await db.fetchval("dialogue_follow_ups_today")
    if budget <= 0:
        return 0
    claimed = await db.fetch("dialogue_claim_follow_ups", limit=min(budget, FOLLOW_UP_BATCH))
    sent = 0
    for row in claimed:
        conversation_id = row["conversation_id"]
        try:
            sent += await _follow_up(res, db, conversation_id)
        except Exception:
            # Claimed but not sent: released for a later run.
            await db.execute("dialogue_release_follow_up", conversation_id=conversation_id)
            log.exception("follow-up for conversation %s failed", conversation_id)
    return sent


async def _follow_up(res: WorkerResources, db: Db, conversation_id: str) -> int:
    row = await db.fetchrow("dialogue_follow_up_context", conversation_id=conversation_id)
    if row is None:
        return 0
    context = {**dict(row), "preferences": json.loads(row["preferences"]), "messages": json.loads(row["messages"])}
    messages = build_messages(context)
    messages[0]["content"] += "\n\n" + FOLLOW_UP_PROMPT.format(days=row["days_idle"])
    model = row["model"] or row["plan_model"]
    completion = await res.llm.complete(model, messages)
    seq = await db.fetchval(
        "dialogue_add_follow_up",
        conversation_id=conversation_id,
        content=completion.content,
        model=model,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
    )
    return 1 if seq is not None else 0


@app.periodic(cron="*/10 * * * *", periodic_id="send_follow_ups")
@app.task(name="dialogue.send_follow_ups", queue="maintenance", queueing_lock="send_follow_ups", pass_context=True)
async def send_follow_ups_task(context: JobContext, timestamp: int) -> int:
    """Follow-up questions for idle conversations, every 10 minutes."""
    return await send_follow_ups(resources_of(context))
