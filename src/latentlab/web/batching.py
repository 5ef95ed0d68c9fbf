"""Dynamic batching of decode requests.

Clicks, drags and grids on the map each send one small ``POST /api/decode``.
A decode of one row costs about as much as a decode of fifty, because a tiny
network's time goes to per-call overhead, not arithmetic. So requests that
arrive together are decoded together: the first one of an event-loop turn
schedules a flush for the end of that turn, the others join it, and the flush
makes one ``model.decode`` call per (model, label) and hands each request its
own rows. A lone request waits one loop turn (microseconds); twenty waiting
requests cost one decode instead of twenty.

The rows still go through the public :meth:`~latentlab.models.api.ModelAPI.decode`,
so every answer equals ``model.decode`` of that request's codes. A batch that
fails (one request's codes make the model overflow, say) is retried one
request at a time, so only the request at fault gets the error.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import numpy as np

MAX_BATCH_ROWS = 4096
"""A flush decodes at most this many rows per call (bigger groups are split)."""


class DecodeBatcher:
    """Collect ``(model, codes, labels)`` within one event-loop turn; decode each group in one call.

    Examples
    --------
    >>> import asyncio, numpy as np, latentlab
    >>> X, _ = latentlab.load_digits()
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, verbose=False)
    >>> async def two():
    ...     b = DecodeBatcher()
    ...     za, zb = np.zeros((1, 2), np.float32), np.ones((3, 2), np.float32)
    ...     return await asyncio.gather(b.decode("ae", ae, za), b.decode("ae", ae, zb)), b.calls
    >>> (a, b), calls = asyncio.run(two())
    >>> a.shape, b.shape, calls
    ((1, 64), (3, 64), 1)
    >>> bool(np.allclose(b, ae.decode(np.ones((3, 2), np.float32))))
    True
    """

    def __init__(self) -> None:
        self._pending: list[tuple[str, object, np.ndarray, int | None, asyncio.Future]] = []
        self.calls = 0
        """``model.decode`` calls made so far (fewer than requests when batching works)."""

    async def decode(self, name: str, model, z: np.ndarray, label: int | None = None) -> np.ndarray:
        """Decoded rows of ``z`` (shape ``(n, latent_dim)``), flattened to ``(n, n_features)``."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((name, model, z, label, future))
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        groups: dict[tuple[str, int | None], list] = defaultdict(list)
        for item in pending:
            groups[item[0], item[3]].append(item)
        for items in groups.values():
            start = 0
            while start < len(items):  # split groups past MAX_BATCH_ROWS rows
                stop, rows = start + 1, len(items[start][2])
                while stop < len(items) and rows + len(items[stop][2]) <= MAX_BATCH_ROWS:
                    rows += len(items[stop][2])
                    stop += 1
                self._run(items[start:stop])
                start = stop

    def _run(self, items: list) -> None:
        model, label = items[0][1], items[0][3]
        z = np.concatenate([it[2] for it in items]) if len(items) > 1 else items[0][2]
        try:
            self.calls += 1
            out = model.decode(z, None if label is None else np.full(len(z), label, np.int64))
        except Exception as exc:
            if len(items) == 1:
                if not items[0][4].done():
                    items[0][4].set_exception(exc)
                return
            for it in items:  # find the request at fault; the others still get their answer
                self._run([it])
            return
        out = out.reshape(len(z), -1)
        start = 0
        for it in items:
            n = len(it[2])
            if not it[4].done():  # the client may have gone away
                it[4].set_result(out[start : start + n])
            start += n
