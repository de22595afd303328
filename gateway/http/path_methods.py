"""The methods of one path as one ASGI app, for the JSON API and the web pages alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class PathMethods:
    """The methods of one path as one ASGI app, which Starlette routes every HTTP method to,
    so that a 405 names exactly this path's methods in `Allow` (a function endpoint would get
    Starlette's own method handling, which adds HEAD to GET: an audited read without an answer).
    `not_allowed(request, allow)` answers any other method, `allow` being the Allow header's value."""

    def __init__(self, by_method: Mapping[str, Endpoint], not_allowed: Callable[[Request, str], Response]) -> None:
        self._by_method = by_method
        self._not_allowed = not_allowed
        self._allow = ", ".join(sorted(by_method))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        endpoint = self._by_method.get(request.method)
        response = self._not_allowed(request, self._allow) if endpoint is None else await endpoint(request)
        await response(scope, receive, send)
