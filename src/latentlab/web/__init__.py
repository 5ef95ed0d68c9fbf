"""The latent-space explorer: a FastAPI app over the public model API, and its static export.

Needs the ``web`` extra (FastAPI, uvicorn) for serving; the static export
needs nothing beyond the core package.
"""

from .export import export_explorer, export_page
from .runs import default_runs, load_runs

__all__ = ["create_app", "export_explorer", "export_page", "load_runs", "default_runs"]


def __getattr__(name: str):
    if name == "create_app":  # FastAPI is only imported when the app is asked for
        from .app import create_app

        return create_app
    raise AttributeError(name)
