"""Changes made through the API are the caller's: auditlog's middleware sees no user behind a
client token, so the views that write say who the change entries belong to."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app.api.authentication import request_actor
from memory.actors import UserActor
from memory.audit import acting_as


class AttributedWrites(APIView):
    """An API view whose graph changes are attributed to the caller (`api:crm`, `user:ana`)."""

    _attribution: ExitStack | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        actor = request_actor(request)
        self._attribution = ExitStack()
        self._attribution.enter_context(
            acting_as(label=actor.label, user=actor.user if isinstance(actor, UserActor) else None)
        )

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if self._attribution is not None:
            self._attribution.close()
            self._attribution = None
        return super().finalize_response(request, response, *args, **kwargs)
