"""Streaming for :class:`~latentlab.estimators.series.SeriesAnomalyDetector`: scores as points arrive.

A step's score is the mean over the windows that cover it, so it is final
once the last of them has arrived, ``window - 1`` points later. The stream
keeps those points and the errors of the windows still needed, nothing more.
"""

from __future__ import annotations

import numpy as np

from ..apps import timeseries as ts


class SeriesStreamMixin:
    """``reset_stream``, ``update`` and ``flush``; the detector provides ``_values``, ``_scaled``,
    ``_errors`` and ``_combine``."""

    def reset_stream(self) -> None:
        """Start a new stream: the next :meth:`update` is the series' first point."""
        self._tail = np.zeros((0, self.n_features_in_))  # the last window - 1 scaled points
        self._pending = np.zeros((0, self.window_, self.n_features_in_))  # errors of the last window - 1 windows
        self._first = 0  # the step where the first pending window starts
        self._seen = 0  # points received
        self._done = 0  # steps whose score was returned

    def update(self, points) -> np.ndarray:
        """Score new points as they arrive; returns the scores of the steps that became final.

        A step's score is final once every window that covers it has arrived,
        ``window - 1`` points later; :meth:`flush` returns the rest at the end.
        The buffer holds ``window - 1`` points and their windows' errors, and
        the scores equal those of :meth:`anomaly_score` on the whole series.
        """
        self._check_fitted()
        x, _ = self._values(points, reset=False)
        xs = np.concatenate([self._tail, self._scaled(x)])
        self._seen += len(x)
        w = self.window_
        if len(xs) >= w:
            E = self._errors(ts.sliding_windows(xs, w))
            self._pending = np.concatenate([self._pending, E])
        self._tail = xs[-(w - 1):] if w > 1 else xs[:0]
        return self._emit(last=self._seen - w)  # steps up to the newest window's start are final

    def flush(self) -> np.ndarray:
        """End the stream: the scores of its last ``window - 1`` steps (covered by fewer windows)."""
        out = self._emit(last=self._seen - 1)
        self.reset_stream()
        return out

    def _emit(self, last: int) -> np.ndarray:
        """Scores of steps ``_done .. last``; then drop the windows no later step needs."""
        n = last - self._done + 1
        if n <= 0 or len(self._pending) == 0:
            return np.zeros(0)
        per = ts.step_means(self._pending, 0, last - self._first + 1)[self._done - self._first :]
        out = self._combine(per)
        self._done = last + 1
        drop = max(0, self._done - self.window_ + 1 - self._first)  # windows that end before the next step
        self._pending, self._first = self._pending[drop:], self._first + drop
        return out
