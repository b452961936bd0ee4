"""Routes of the library: techniques, resources, votes, the moderation queue."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from api.library import schemas, service
from api.library.service import Sort
from api.paging import DEFAULT_LIMIT, Cursor, Limit
from api.security import requires_moderator
from core.database.gateway import Db

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
MODERATION_QUEUE = "moderation: pending items of every author"
MODERATING = "moderation: another author's item"
MODERATOR_READING = "moderation: a moderator reads a pending item of another author"
TECHNIQUE_STATS = "technique stats: counts over every user's conversations (only aggregates leave)"


def reading_db(request: Request, db: Db) -> Db:
    """Moderators read the pending items of every author (what the queue links to)."""
    return db.as_service(MODERATOR_READING) if request.user.is_moderator else db


SortBy = Annotated[Sort, QueryParameter(description="top: Wilson lower bound of the votes; new: newest")]
Search = Annotated[str | None, QueryParameter(max_length=200, description="substring of the name or description")]


class TechniqueController(Controller):
    path = "/techniques"
    tags = ["library"]

    @get("/", summary="Built-in, approved and the caller's own techniques")
    async def list(
        self,
        request: Request,
        db: NamedDependency[Db],
        sort: SortBy = "top",
        q: Search = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.TechniquePage:
        return await service.list_techniques(db.reads(), request.user, sort, q, limit, cursor)

    @post("/", summary="Submit a technique (pending until a moderator approves it)")
    async def create(
        self, request: Request, db: NamedDependency[Db], data: JSONBody[schemas.TechniqueCreate]
    ) -> schemas.Technique:
        return await service.create_technique(db, request.user, data)

    @get("/{technique_id:uuid}", summary="A technique at the version the caller may see")
    async def show(self, request: Request, db: NamedDependency[Db], technique_id: FromPath[UUID]) -> schemas.Technique:
        return await service.get_technique(reading_db(request, db), request.user, str(technique_id))

    @get("/{technique_id:uuid}/stats", summary="Use and rating of an approved or built-in technique")
    async def stats(self, db: NamedDependency[Db], technique_id: FromPath[UUID]) -> schemas.TechniqueStats:
        return await service.technique_stats(db.as_service(TECHNIQUE_STATS), str(technique_id))

    @patch("/{technique_id:uuid}", summary="Edit: a new pending version; the approved one stays live")
    async def update(
        self,
        request: Request,
        db: NamedDependency[Db],
        technique_id: FromPath[UUID],
        data: JSONBody[schemas.TechniqueUpdate],
    ) -> schemas.Technique:
        return await service.update_technique(db, request.user, str(technique_id), data)

    @delete("/{technique_id:uuid}", summary="Delete one's own technique")
    async def remove(self, request: Request, db: NamedDependency[Db], technique_id: FromPath[UUID]) -> None:
        await service.delete_technique(db, request.user, str(technique_id))

    @get("/{technique_id:uuid}/versions", summary="Version history (others see approved versions only)")
    async def versions(
        self,
        request: Request,
        db: NamedDependency[Db],
        technique_id: FromPath[UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.TechniqueVersionPage:
        return await service.list_versions(reading_db(request, db), request.user, str(technique_id), limit, cursor)

    @put("/{technique_id:uuid}/vote", summary="Vote +1 or -1 (again to change it)")
    async def vote(
        self, request: Request, db: NamedDependency[Db], technique_id: FromPath[UUID], data: JSONBody[schemas.VoteCast]
    ) -> schemas.VoteTally:
        return await service.cast_vote(db, request.user, "technique", str(technique_id), data.value)

    @delete("/{technique_id:uuid}/vote", status_code=200, summary="Remove one's vote")
    async def unvote(
        self, request: Request, db: NamedDependency[Db], technique_id: FromPath[UUID]
    ) -> schemas.VoteTally:
        return await service.cast_vote(db, request.user, "technique", str(technique_id), None)


class ResourceController(Controller):
    path = "/resources"
    tags = ["library"]

    @get("/", summary="Approved resources and the caller's own")
    async def list(
        self,
        request: Request,
        db: NamedDependency[Db],
        sort: SortBy = "top",
        q: Search = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.ResourcePage:
        return await service.list_resources(db.reads(), request.user, sort, q, limit, cursor)

    @post("/", summary="Submit a resource (pending until a moderator approves it)")
    async def create(
        self, request: Request, db: NamedDependency[Db], data: JSONBody[schemas.ResourceCreate]
    ) -> schemas.Resource:
        return await service.create_resource(db, request.user, data)

    @get("/{resource_id:uuid}", summary="A resource")
    async def show(self, request: Request, db: NamedDependency[Db], resource_id: FromPath[UUID]) -> schemas.Resource:
        return await service.get_resource(reading_db(request, db), request.user, str(resource_id))

    @patch("/{resource_id:uuid}", summary="Edit one's resource: a changed resource goes back to moderation")
    async def update(
        self,
        request: Request,
        db: NamedDependency[Db],
        resource_id: FromPath[UUID],
        data: JSONBody[schemas.ResourceUpdate],
    ) -> schemas.Resource:
        return await service.update_resource(db, request.user, str(resource_id), data)

    @delete("/{resource_id:uuid}", summary="Delete one's own resource")
    async def remove(self, request: Request, db: NamedDependency[Db], resource_id: FromPath[UUID]) -> None:
        await service.delete_resource(db, request.user, str(resource_id))

    @put("/{resource_id:uuid}/vote", summary="Vote +1 or -1 (again to change it)")
    async def vote(
        self, request: Request, db: NamedDependency[Db], resource_id: FromPath[UUID], data: JSONBody[schemas.VoteCast]
    ) -> schemas.VoteTally:
        return await service.cast_vote(db, request.user, "resource", str(resource_id), data.value)

    @delete("/{resource_id:uuid}/vote", status_code=200, summary="Remove one's vote")
    async def unvote(self, request: Request, db: NamedDependency[Db], resource_id: FromPath[UUID]) -> schemas.VoteTally:
        return await service.cast_vote(db, request.user, "resource", str(resource_id), None)


class ModerationController(Controller):
    path = "/moderation"
    tags = ["moderation"]
    guards = [requires_moderator]

    @get("/queue", summary="Pending technique versions and resources, oldest first")
    async def queue(
        self, db: NamedDependency[Db], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> schemas.QueuePage:
        return await service.moderation_queue(db.as_service(MODERATION_QUEUE), limit, cursor)

    @post("/techniques/{technique_id:uuid}/approve", status_code=200, summary="Approve the pending version")
    async def approve_technique(
        self,
        request: Request,
        db: NamedDependency[Db],
        technique_id: FromPath[UUID],
        data: JSONBody[schemas.Approval | None] = None,
    ) -> schemas.Technique:
        return await service.moderate_technique(
            db.as_service(MODERATING), request.user, str(technique_id), "approve", None, data.version if data else None
        )

    @post("/techniques/{technique_id:uuid}/reject", status_code=200, summary="Reject the pending version")
    async def reject_technique(
        self,
        request: Request,
        db: NamedDependency[Db],
        technique_id: FromPath[UUID],
        data: JSONBody[schemas.TechniqueRejection],
    ) -> schemas.Technique:
        return await service.moderate_technique(
            db.as_service(MODERATING), request.user, str(technique_id), "reject", data.reason, data.version
        )

    @post("/resources/{resource_id:uuid}/approve", status_code=200, summary="Approve a pending resource")
    async def approve_resource(
        self, request: Request, db: NamedDependency[Db], resource_id: FromPath[UUID]
    ) -> schemas.Resource:
        return await service.moderate_resource(
            db.as_service(MODERATING), request.user, str(resource_id), "approve", None
        )

    @post("/resources/{resource_id:uuid}/reject", status_code=200, summary="Reject a pending resource")
    async def reject_resource(
        self, request: Request, db: NamedDependency[Db], resource_id: FromPath[UUID], data: JSONBody[schemas.Rejection]
    ) -> schemas.Resource:
        return await service.moderate_resource(
            db.as_service(MODERATING), request.user, str(resource_id), "reject", data.reason
        )


ROUTE_HANDLERS: list[ControllerRouterHandler] = [TechniqueController, ResourceController, ModerationController]
