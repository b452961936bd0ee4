"""Routes of the library: techniques, resources, votes, the moderation queue."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import Parameter

from api.library import schemas, service
from api.library.service import Sort
from api.security import requires_moderator

LIMIT = Parameter(query="limit", ge=1, le=100, default=20)
CURSOR = Parameter(query="cursor", default=None)
SORT = Parameter(query="sort", default="top", description="top: Wilson lower bound of the votes; new: newest")
QUERY = Parameter(query="q", default=None, max_length=200, description="substring of the name or description")


class TechniqueController(Controller):
    path = "/techniques"
    tags = ["library"]

    @get("/", summary="Built-in, approved and the caller's own techniques")
    async def list(self, request: Request, sort: Annotated[Sort, SORT] = "top", q: str | None = QUERY,
                   limit: int = LIMIT, cursor: str | None = CURSOR) -> schemas.TechniquePage:
        return await service.list_techniques(request.app.state.pool, request.user, sort, q, limit, cursor)

    @post("/", summary="Submit a technique (pending until a moderator approves it)")
    async def create(self, request: Request, data: schemas.TechniqueCreate) -> schemas.Technique:
        return await service.create_technique(request.app.state.pool, request.user, data)

    @get("/{technique_id:uuid}", summary="A technique at the version the caller may see")
    async def show(self, request: Request, technique_id: UUID) -> schemas.Technique:
        return await service.get_technique(request.app.state.pool, request.user, str(technique_id))

    @patch("/{technique_id:uuid}", summary="Edit: a new pending version; the approved one stays live")
    async def update(self, request: Request, technique_id: UUID,
                     data: schemas.TechniqueUpdate) -> schemas.Technique:
        return await service.update_technique(request.app.state.pool, request.user, str(technique_id), data)

    @delete("/{technique_id:uuid}", summary="Delete one's own technique")
    async def remove(self, request: Request, technique_id: UUID) -> None:
        await service.delete_technique(request.app.state.pool, request.user, str(technique_id))

    @get("/{technique_id:uuid}/versions", summary="Version history (others see approved versions only)")
    async def versions(self, request: Request, technique_id: UUID, limit: int = LIMIT,
                       cursor: str | None = CURSOR) -> schemas.TechniqueVersionPage:
        return await service.list_versions(request.app.state.pool, request.user, str(technique_id), limit, cursor)

    @put("/{technique_id:uuid}/vote", summary="Vote +1 or -1 (again to change it)")
    async def vote(self, request: Request, technique_id: UUID, data: schemas.VoteCast) -> schemas.VoteTally:
        return await service.cast_vote(request.app.state.pool, request.user, "technique", str(technique_id),
                                       data.value)

    @delete("/{technique_id:uuid}/vote", status_code=200, summary="Remove one's vote")
    async def unvote(self, request: Request, technique_id: UUID) -> schemas.VoteTally:
        return await service.cast_vote(request.app.state.pool, request.user, "technique", str(technique_id), None)


class ResourceController(Controller):
    path = "/resources"
    tags = ["library"]

    @get("/", summary="Approved resources and the caller's own")
    async def list(self, request: Request, sort: Annotated[Sort, SORT] = "top", q: str | None = QUERY,
                   limit: int = LIMIT, cursor: str | None = CURSOR) -> schemas.ResourcePage:
        return await service.list_resources(request.app.state.pool, request.user, sort, q, limit, cursor)

    @post("/", summary="Submit a resource (pending until a moderator approves it)")
    async def create(self, request: Request, data: schemas.ResourceCreate) -> schemas.Resource:
        return await service.create_resource(request.app.state.pool, request.user, data)

    @get("/{resource_id:uuid}", summary="A resource")
    async def show(self, request: Request, resource_id: UUID) -> schemas.Resource:
        return await service.get_resource(request.app.state.pool, request.user, str(resource_id))

    @patch("/{resource_id:uuid}", summary="Edit one's resource: a changed resource goes back to moderation")
    async def update(self, request: Request, resource_id: UUID, data: schemas.ResourceUpdate) -> schemas.Resource:
        return await service.update_resource(request.app.state.pool, request.user, str(resource_id), data)

    @delete("/{resource_id:uuid}", summary="Delete one's own resource")
    async def remove(self, request: Request, resource_id: UUID) -> None:
        await service.delete_resource(request.app.state.pool, request.user, str(resource_id))

    @put("/{resource_id:uuid}/vote", summary="Vote +1 or -1 (again to change it)")
    async def vote(self, request: Request, resource_id: UUID, data: schemas.VoteCast) -> schemas.VoteTally:
        return await service.cast_vote(request.app.state.pool, request.user, "resource", str(resource_id),
                                       data.value)

    @delete("/{resource_id:uuid}/vote", status_code=200, summary="Remove one's vote")
    async def unvote(self, request: Request, resource_id: UUID) -> schemas.VoteTally:
        return await service.cast_vote(request.app.state.pool, request.user, "resource", str(resource_id), None)


class ModerationController(Controller):
    path = "/moderation"
    tags = ["moderation"]
    guards = [requires_moderator]

    @get("/queue", summary="Pending technique versions and resources, oldest first")
    async def queue(self, request: Request, limit: int = LIMIT, cursor: str | None = CURSOR) -> schemas.QueuePage:
        return await service.moderation_queue(request.app.state.pool, limit, cursor)

    @post("/techniques/{technique_id:uuid}/approve", status_code=200, summary="Approve the pending version")
    async def approve_technique(self, request: Request, technique_id: UUID,
                                data: schemas.Approval | None = None) -> schemas.Technique:
        return await service.moderate(request.app.state.pool, request.user, "technique", str(technique_id),
                                      "approve", None, data.version if data else None)

    @post("/techniques/{technique_id:uuid}/reject", status_code=200, summary="Reject the pending version")
    async def reject_technique(self, request: Request, technique_id: UUID,
                               data: schemas.TechniqueRejection) -> schemas.Technique:
        return await service.moderate(request.app.state.pool, request.user, "technique", str(technique_id),
                                      "reject", data.reason, data.version)

    @post("/resources/{resource_id:uuid}/approve", status_code=200, summary="Approve a pending resource")
    async def approve_resource(self, request: Request, resource_id: UUID) -> schemas.Resource:
        return await service.moderate(request.app.state.pool, request.user, "resource", str(resource_id),
                                      "approve", None, None)

    @post("/resources/{resource_id:uuid}/reject", status_code=200, summary="Reject a pending resource")
    async def reject_resource(self, request: Request, resource_id: UUID,
                              data: schemas.Rejection) -> schemas.Resource:
        return await service.moderate(request.app.state.pool, request.user, "resource", str(resource_id),
                                      "reject", data.reason, None)
