"""HTTP serving: a FastAPI app (``create_app``) with a JSON/multipart API and a static page.

Imported only by ``glcic serve`` and by code that embeds the app; the library never
imports the server.
"""

from glcic.server.app import ServerSettings, create_app, serve_in_thread

__all__ = ["ServerSettings", "create_app", "serve_in_thread"]
