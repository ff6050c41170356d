"""The web app's file routes: a PDF page's image and the PDF itself, named by document id and page only.

    GET /doc/<doc_id>/page/<n>.png   image/png, page n of the file (1-based)
    GET /doc/<doc_id>/original.pdf   application/pdf (the passage links it with #page=N)

The passage HTML links these (`assistant.ui.pages.page_url`, `pdf_url`); no server path is in a
URL or a response. Each request goes through the logged-in user's view (`Viewers.ui(name)`), so
access groups decide (issue 21): an unknown id, a document outside the user's groups, a page the
PDF does not have and a document that is not a PDF all get the same 404. With logins and no
logged-in user: 401. The bytes come from the page cache (`assistant.ui.pages`), filled from the
file or, on a host that does not have it, from the shared catalog's copy (`Assistant.original_file`).

`routes(viewers)` returns Starlette routes; `assistant.ui.app.launch_options(settings, app)` hands
them to Gradio's FastAPI app (`app_kwargs`), ahead of Gradio's own routes. Starlette is imported
inside functions (it comes with Gradio).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.ui.handlers import ChatUI
    from assistant.ui.viewers import Viewers

PAGE_ROUTE = "/doc/{doc_id:path}/page/{n:int}.png"
PDF_ROUTE = "/doc/{doc_id:path}/original.pdf"
CACHE = "private, max-age=3600"  # URLs carry ?v=<document version>, so a re-ingest gets new URLs


async def logged_in(request: Any) -> str | None:
    """The user Gradio logged in for this request, None without one: the same lookup as Gradio's
    own `/gradio_api/user` (its app's `auth_dependency`, else its login cookie and token table).
    Anything missing reads as no login, which refuses the request where logins are required."""
    app = request.app
    dependency = getattr(app, "auth_dependency", None)
    if dependency is not None:
        user = dependency(request)
        return await user if inspect.isawaitable(user) else user
    cookie = getattr(app, "cookie_id", None)
    tokens = getattr(app, "tokens", None) or {}
    if cookie is None:
        return None
    token = request.cookies.get(f"access-token-{cookie}") or request.cookies.get(f"access-token-unsecure-{cookie}")
    return tokens.get(token) if token else None


async def _view(request: Any, viewers: Viewers) -> ChatUI | None:
    """The logged-in user's view; None where logins are required and there is none."""
    name = await logged_in(request)
    if viewers.users and not name:
        return None
    return viewers.ui(name)


def routes(viewers: Viewers) -> list[Any]:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, PlainTextResponse
    from starlette.routing import Route

    def not_found() -> Any:
        return PlainTextResponse("Not Found", status_code=404)

    def unauthorized() -> Any:
        return PlainTextResponse("Not authenticated", status_code=401)

    async def page(request: Any) -> Any:
        ui = await _view(request, viewers)
        if ui is None:
            return unauthorized()
        png: Path | None = await run_in_threadpool(ui.page_image, request.path_params["doc_id"], request.path_params["n"])
        if png is None:
            return not_found()
        return FileResponse(png, media_type="image/png", headers={"Cache-Control": CACHE})

    async def original(request: Any) -> Any:
        ui = await _view(request, viewers)
        if ui is None:
            return unauthorized()
        found = await run_in_threadpool(ui.original_pdf, request.path_params["doc_id"])
        if found is None:
            return not_found()
        copy, name = found
        return FileResponse(copy, media_type="application/pdf", filename=name, content_disposition_type="inline", headers={"Cache-Control": CACHE})

    return [Route(PAGE_ROUTE, page, methods=["GET"]), Route(PDF_ROUTE, original, methods=["GET"])]
