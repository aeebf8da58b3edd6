"""The console (a single-page app, ``console/``) served as static files at ``/console``.

Same origin as the API, so the browser needs no CORS opening and the credential never leaves
it. The app's own paths (``/console/documents/...``) are React Router routes: a path that is no
file gets ``index.html`` (the SPA fallback), except where a file was clearly meant (an asset or
a name with an extension), which is a 404 rather than HTML under a script's name.

Every response carries a strict Content-Security-Policy: only the app's own scripts, styles and
API calls, no inline code, no framing. Vite's hashed assets may be cached for good; ``index.html``
must be revalidated, or a rebuilt console would keep loading the old bundle.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ragline_gateway.deps import ContextDep

router = APIRouter(include_in_schema=False)

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
CONSOLE_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_IMMUTABLE = "public, max-age=31536000, immutable"
"""Vite names every file under ``assets/`` by its content's hash: a new build, a new name."""
_REVALIDATE = "no-cache"
_NOT_BUILT = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>Console not built</title></head><body><main><h1>Console not built</h1>"
    "<p>console not built: run <code>make console</code> (needs Node.js and npm), or set "
    "RAGLINE_GATEWAY_CONSOLE_DIST to a built <code>dist</code> directory.</p></main></body></html>"
)


def source_tree_dist() -> Path | None:
    """``console/dist`` of the checkout this module runs from; None from an installed wheel
    (whose files do not sit under ``services/gateway/src``)."""
    here = Path(__file__).resolve()
    if here.parents[2].name != "src":
        return None
    return here.parents[5] / "console" / "dist"


def _locate(dist: Path | None, path: str) -> tuple[Path, str] | None:
    """The file to answer ``path`` with and its Cache-Control, or None for a 404.

    Blocking file-system calls: run in a thread."""
    if dist is None or not (dist / "index.html").is_file():
        return None
    root = dist.resolve()
    parts = PurePosixPath(path).parts
    if "\\" in path or "\x00" in path or ".." in parts:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root):
        # A symbolic link out of the build directory.
        return None
    if candidate.is_file():
        immutable = bool(parts) and parts[0] == "assets"
        return candidate, _IMMUTABLE if immutable else _REVALIDATE
    if (parts and parts[0] == "assets") or (parts and "." in parts[-1]):
        return None
    return root / "index.html", _REVALIDATE


@router.api_route("/console", methods=["GET", "HEAD"])
async def console_root() -> Response:
    """The app lives under ``/console/`` (Vite's ``base``): its relative links need the slash."""
    return RedirectResponse("/console/", status_code=308, headers=CONSOLE_HEADERS)


@router.api_route("/console/{path:path}", methods=["GET", "HEAD"])
async def console_file(path: str, context: ContextDep) -> Response:
    dist = context.settings.console_dist or source_tree_dist()
    found = await run_in_threadpool(_locate, dist, path)
    if found is None:
        built = dist is not None and await run_in_threadpool((dist / "index.html").is_file)
        body = "<!doctype html><title>Not found</title><h1>Not found</h1>" if built else _NOT_BUILT
        return HTMLResponse(body, status_code=404, headers=CONSOLE_HEADERS)
    file, cache_control = found
    return FileResponse(file, headers={**CONSOLE_HEADERS, "Cache-Control": cache_control})
