"""The API documentation page at `/`, served from this repository instead of BentoML's.

BentoML's page loads Google Tag Manager (and links to GitHub) in the adviser's browser. This
ASGI middleware answers `GET /` with `docs.html`, which runs the Swagger UI shipped in BentoML's
own static files (`/static_content/`, the version pinned with bentoml) with `docs-page.js`; a
Content-Security-Policy lets the browser fetch nothing but this service.
"""

from pathlib import Path

HERE = Path(__file__).parent
PAGES = {"/": ("docs.html", b"text/html; charset=utf-8"),
         "/docs-page.js": ("docs-page.js", b"text/javascript; charset=utf-8")}
# Swagger UI sets inline styles (hence 'unsafe-inline' for styles only) and shows data: images.
CSP = (b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       b"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


class LocalDocsPage:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        page = PAGES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if page is None or scope.get("method") not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        name, media_type = page
        body = (HERE / name).read_bytes()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", media_type), (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", CSP), (b"cache-control", b"no-cache")]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
