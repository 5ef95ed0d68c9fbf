"""The explorer's FastAPI app: three panels of static page over a small JSON API.

The API speaks the public model API only (``encode``, ``decode``,
``reconstruct``, ``sample``). Handlers are ``async def`` on purpose: a
decode of a tiny MLP takes well under a millisecond, so running it on the
event loop is cheaper than a hop to the thread pool. Decode requests, the
map's hot path, are answered by the :class:`Front` middleware and batched
across concurrent clients (:mod:`latentlab.web.batching`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from pydantic_core import to_json

from ..errors import LatentlabError
from .batching import DecodeBatcher
from .hosts import LOOPBACK, hosts_for  # noqa: F401  (re-exported)
from .runs import Entry, training_data
from .schemas import (
    NAME_PATTERN,
    DecodeRequest,
    DecodeResponse,
    Digit,
    EncodeRequest,
    EncodeResponse,
    Latents,
    ModelList,
    Problem,
    SampleRequest,
    TextDecodeResponse,
    TextSampleRequest,
)

STATIC = Path(__file__).parent / "static"
MAX_BODY = 256 * 1024
BODY_TIMEOUT = 10.0  # seconds a client has to send one request's body once its headers are in
ERRORS = {400: {"model": Problem}, 404: {"model": Problem}, 413: {"model": Problem}}


class Front:
    """ASGI middleware in front of the routes.

    It reads each body whole and answers 413 past ``limit`` bytes, and 408
    (closing the connection) when the body is not complete ``body_timeout``
    seconds after the headers: the protocol's header deadline
    (:mod:`latentlab.web.serving`) stops at the headers, and a client that
    then trickles a body, or never sends it, would hold its connection (and
    this coroutine) for ever. It also
    answers ``POST /api/decode`` itself through ``decode`` (bytes in,
    ``(status, JSON bytes)`` out): the map's clicks, drags and grids send
    that request far more often than any other, and skipping the framework's
    per-request dispatch cut the server's CPU time per decode by about a third
    (``docs/performance.md``). The request is validated by
    the same :class:`DecodeRequest` model as the declared route, and the
    answer has the same shape, so the OpenAPI document stays true.
    """

    def __init__(self, app, decode=None, limit: int = MAX_BODY, body_timeout: float = BODY_TIMEOUT):
        self.app, self.decode, self.limit, self.body_timeout = app, decode, limit, body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body, more = b"", True
        # One timer for the whole body (a trickle cannot reset it); cheaper than a wait_for task per message
        # on the decode hot path. It can only fire while this task waits in receive(), so it lands there.
        task, expired = asyncio.current_task(), []
        timer = asyncio.get_running_loop().call_later(self.body_timeout, lambda: (expired.append(1), task.cancel()))
        try:
            while more and len(body) <= self.limit:
                message = await receive()
                if message["type"] != "http.request":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
        except asyncio.CancelledError:
            if not expired:
                raise
            if hasattr(task, "uncancel"):  # Python 3.11+: this cancellation was ours, and it is handled
                task.uncancel()
        finally:
            timer.cancel()
        if expired:  # "connection: close" makes the server hang up after the answer
            return await JSONResponse(
                {"detail": f"the request body did not arrive within {self.body_timeout:g} s; send it whole."},
                408, headers={"connection": "close"},
            )(scope, receive, send)
        if len(body) > self.limit:
            return await JSONResponse(
                {"detail": f"request body exceeds {self.limit} bytes; send fewer or shorter rows."}, 413
            )(scope, receive, send)
        if self.decode is not None and scope["path"] == "/api/decode" and scope["method"] == "POST":
            status, payload = await self.decode(body)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            return await send({"type": "http.response.body", "body": payload})
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


def _error_list(exc) -> list[dict]:
    """Validation errors without the offending input (which may hold NaN, not valid JSON)."""
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]


def _fail(status: int, detail: str):
    raise HTTPException(status_code=status, detail=detail)


def _floats(a: np.ndarray) -> list:
    """Finite float32 values as a JSON-ready list; an inf (an overflow) is refused, never sent."""
    a = np.asarray(a, dtype=np.float32)
    if np.isinf(a).any():
        _fail(
            400,
            "the model's output overflows float32 here (its scaler or this code is extreme); "
            "use codes nearer the training codes, or refit the model on data in sensible units.",
        )
    return a.tolist()


def _rows(a: np.ndarray) -> list:
    """Output rows with NaN (a sequence's padding) as JSON null, so that every answer is valid JSON."""
    a = np.asarray(a, dtype=np.float32)
    rows = _floats(a)
    if np.isnan(a).any():
        rows = [[None if v != v else v for v in row] for row in rows]
    return rows


def create_app(entries: dict[str, Entry], allowed_hosts: list[str] | None = None,
               body_timeout: float = BODY_TIMEOUT) -> FastAPI:
    """Build the app serving ``entries`` (from :func:`latentlab.web.runs.load_runs`).

    ``allowed_hosts``: the ``Host`` header values accepted (port ignored), others get 400; this
    shuts out DNS rebinding, where a web page makes the browser send requests to a loopback
    server under a host name of its own. ``latentlab serve`` passes the names of the address it
    binds, checked by :func:`latentlab.web.hosts.serving_hosts`; ``None`` accepts any host.
    ``body_timeout``: seconds a request's body may take once its headers are in (408 after that).

    Examples
    --------
    >>> import latentlab
    >>> from latentlab.web.runs import make_entry
    >>> X, _ = latentlab.load_digits()
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, verbose=False)
    >>> app = create_app({"ae": make_entry("ae", ae)})
    >>> sorted(r.path for r in app.routes if r.path.startswith("/api"))[:3]
    ['/api/decode', '/api/digits/{index}', '/api/encode']
    """
    app = FastAPI(title="latentlab explorer", version="1", description="Encode, decode and sample served models.")
    _, X_test, _, y_test = training_data(next(iter(entries.values())).model)
    n_test = max(len(X_test), 1)

    def entry(name: str) -> Entry:
        e = entries.get(name)
        if e is None:
            _fail(404, f"no model named {name!r}; known models: {sorted(entries)}.")
        return e

    def label_for(e: Entry, label: int | None, n: int):
        k = e.info.n_classes
        if k == 0:
            return None
        if label is None or label >= k:
            _fail(400, f"model {e.name!r} is conditional: give a label in 0..{k - 1}.")
        return np.full(n, label, dtype=np.int64)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):  # FastAPI's own handler echoes the input, which may hold NaN
        return JSONResponse({"detail": _error_list(exc)}, status_code=422)

    @app.exception_handler(LatentlabError)
    async def _latentlab_error(request, exc):  # bad input the model itself refused
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/models", response_model=ModelList)
    async def models():
        """The served models, by name, with what their panels need."""
        return ModelList(models=[e.info for e in entries.values()])

    latents_json: dict[str, bytes] = {}

    @app.get("/api/models/{name}/latents", response_model=Latents, responses=ERRORS)
    async def latents(name: str = PathParam(pattern=NAME_PATTERN)):
        """Codes of the training samples (all coordinates), their place in the model's plane (more than two
        latent dimensions: ``ModelInfo.plane``) and their labels, for the map."""
        e = entry(name)
        if name not in latents_json:  # the same for the life of the server: build the body once
            clusters = [] if e.clusters is None else e.clusters.tolist()
            body = Latents(model=name, points=_floats(e.points), labels=e.labels.tolist(), clusters=clusters,
                           plane=_floats(e.plane))
            latents_json[name] = body.model_dump_json().encode()
        return Response(latents_json[name], media_type="application/json")

    @app.get("/api/digits/{index}", response_model=Digit, responses=ERRORS)
    async def digit(index: int = PathParam(ge=0, lt=n_test)):
        """A real digit from the held-out test split (for 64-input models)."""
        if len(X_test) == 0:
            _fail(404, "the served models are not 8x8 digits models; there is no test set to load.")
        return Digit(index=index, label=int(y_test[index]), x=_floats(X_test[index]))

    @app.post("/api/encode", response_model=EncodeResponse, responses=ERRORS)
    async def encode(req: EncodeRequest):
        """The code of one input, its reconstruction and the reconstruction's mean squared error."""
        e = entry(req.model)
        if len(req.x) != e.info.input_dim:
            _fail(400, f"x has {len(req.x)} values; model {e.name!r} takes {e.info.input_dim} (a flattened grid).")
        x = np.asarray(req.x, dtype=np.float32).reshape(1, *e.model.config.input_shape)
        y = label_for(e, req.label, 1)
        code = e.model.encode(x, y)
        rec = e.model.reconstruct(x, y)
        err = float(np.mean((rec - x) ** 2))
        if not np.isfinite(err):
            _fail(400, "the reconstruction overflows float32 for this input; send values in the training data's units.")
        return EncodeResponse(model=e.name, code=_floats(code[0]), reconstruction=_floats(rec.ravel()), error=err)

    batcher = app.state.decode_batcher = DecodeBatcher()

    async def decode_images(req: DecodeRequest) -> np.ndarray:
        e = entry(req.model)
        if e.info.text:
            _fail(400, f"model {e.name!r} decodes to sentences; use POST /api/text/decode.")
        L = e.info.latent_dim
        if any(len(row) != L for row in req.z):
            _fail(400, f"each row of z must have {L} coordinates for model {e.name!r}.")
        z = np.asarray(req.z, dtype=np.float32)
        y = label_for(e, req.label, len(z))
        return await batcher.decode(e.name, e.model, z, None if y is None else int(y[0]))

    @app.post("/api/decode", response_model=DecodeResponse, responses=ERRORS)
    async def decode(req: DecodeRequest):
        """Decoder means of the given codes (clicks, interpolation paths, grids)."""
        # Served by ``decode_bytes`` through the Front middleware; declared here for the OpenAPI document.
        return JSONResponse({"model": req.model, "images": _rows(await decode_images(req))})

    async def decode_bytes(body: bytes) -> tuple[int, bytes]:
        try:
            req = DecodeRequest.model_validate_json(body)
            images = await decode_images(req)
        except ValidationError as exc:
            return 422, to_json({"detail": _error_list(exc)})
        except HTTPException as exc:
            return exc.status_code, to_json({"detail": exc.detail})
        except LatentlabError as exc:
            return 400, to_json({"detail": str(exc)})
        try:
            payload = {"model": req.model, "images": _rows(images)}
        except HTTPException as exc:
            return exc.status_code, to_json({"detail": exc.detail})
        return 200, to_json(payload)

    @app.post("/api/sample", response_model=DecodeResponse, responses=ERRORS)
    async def sample(req: SampleRequest):
        """``n`` decoded draws from the prior (of class ``label`` for a conditional model)."""
        e = entry(req.model)
        if e.info.text:
            _fail(400, f"model {e.name!r} samples sentences; use POST /api/text/sample.")
        y = label_for(e, req.label, req.n)
        images = e.model.sample(req.n, y=None if y is None else int(y[0]), seed=req.seed)
        return DecodeResponse(model=e.name, images=_rows(images.reshape(req.n, -1)))

    def text_entry(name: str) -> Entry:
        e = entry(name)
        if not e.info.text:
            _fail(400, f"model {name!r} is not a text model; use /api/decode and /api/sample.")
        return e

    @app.post("/api/text/decode", response_model=TextDecodeResponse, responses=ERRORS)
    async def text_decode(req: DecodeRequest):
        """The sentences a text model decodes (greedily) from the given codes: a click, or a drag's path."""
        e = text_entry(req.model)
        if any(len(row) != e.info.latent_dim for row in req.z):
            _fail(400, f"each row of z must have {e.info.latent_dim} coordinates for model {e.name!r}.")
        y = label_for(e, req.label, len(req.z))
        return TextDecodeResponse(model=e.name, texts=e.model.decode(np.asarray(req.z, dtype=np.float32), y))

    @app.post("/api/text/sample", response_model=TextDecodeResponse, responses=ERRORS)
    async def text_sample(req: TextSampleRequest):
        """``n`` sentences decoded from prior draws of a text model (of class ``label`` when conditional)."""
        e = text_entry(req.model)
        y = label_for(e, req.label, req.n)
        return TextDecodeResponse(model=e.name, texts=e.model.sample(req.n, y=y, seed=req.seed))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Front, decode=decode_bytes, body_timeout=body_timeout)
    if allowed_hosts is not None:  # outermost, so that the decode fast path is guarded too
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    return app


def openapi_json(entries: dict[str, Entry]) -> str:
    """The OpenAPI document of the app (for schema-driven testing)."""
    return json.dumps(create_app(entries).openapi(), indent=1)
