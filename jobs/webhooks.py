"""Outgoing webhooks: signed JSON POSTs to a user's webhook_url, retried with backoff.

Deliveries are queued by SQL (mukti_enqueue_webhook_v1) in the transaction of the event
they report; this task sends one and records each attempt in webhook_deliveries.
"""

from __future__ import annotations

import httpx
from procrastinate import JobContext

from core.crypto import SIGNATURE_HEADER, sign
from core.netguard import UnsafeTarget, check_resolved
from jobs.app import app
from jobs.backoff import BackoffRetry
from jobs.resources import owner_db, resources_of

ATTEMPTS = 6  # ~1 + 2 + 4 + 8 + 16 s of waiting before giving up
TIMEOUT = 10.0


class DeliveryFailed(Exception):
    pass


@app.task(name="deliver_webhook", queue="webhooks", pass_context=True, retry=BackoffRetry(ATTEMPTS))
async def deliver_webhook(context: JobContext, delivery_id: str) -> str:
    res = resources_of(context)
    db = owner_db(res, await res.db.fetchval("job_delivery_owner", delivery_id=delivery_id))
    if db is None:
        return "nothing to deliver"
    delivery = await db.fetchrow("webhook_delivery_get", delivery_id=delivery_id)
    if delivery is None or delivery["status"] != "pending":
        return "nothing to deliver"
    body = delivery["payload"].encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Mukti-Webhooks/1",
        SIGNATURE_HEADER: sign(res.settings.webhook_secret, body),
        "X-Mukti-Delivery": delivery_id,
    }
    status_code = error = None
    try:
        target = await check_resolved(delivery["url"], allow_private=res.settings.webhook_allow_private)
    except UnsafeTarget as exc:
        # Permanent: retrying cannot make the address public.
        await db.execute(
            "webhook_delivery_record",
            delivery_id=delivery_id,
            status="failed",
            status_code=None,
            error=f"refused: {exc}",
        )
        return "refused"
    try:
        url, pinning_headers, extensions = target.request_args()
        response = await res.http.post(
            url,
            content=body,
            headers={**headers, **pinning_headers},
            extensions=extensions,
            timeout=TIMEOUT,
            follow_redirects=False,
        )
        status_code = response.status_code
        if not response.is_success:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    last = context.job.attempts + 1 >= ATTEMPTS
    status = "delivered" if error is None else ("failed" if last else "pending")
    await db.execute(
        "webhook_delivery_record", delivery_id=delivery_id, status=status, status_code=status_code, error=error
    )
    if error is not None:
        raise DeliveryFailed(error)
    return status
