"""Streaming: the scores of a fitted :class:`~latentlab.estimators.series.SeriesAnomalyDetector` as points arrive.

A step's score is the mean over the windows that cover it, so it is final
once the last of them has arrived, ``window - 1`` points later. A stream
keeps those points and the errors of the windows still needed, nothing more;
several streams can run over one detector.
"""

from __future__ import annotations

import numpy as np

from ...apps import timeseries as ts
from .scorer import combine_channels


class SeriesStream:
    """Scores of ``detector`` (fitted) for a series that arrives a few points at a time.

    Examples
    --------
    >>> import latentlab
    >>> x = np.sin(2 * np.pi * np.arange(300) / 10) + 0.1 * np.random.default_rng(0).standard_normal(300)
    >>> det = latentlab.SeriesAnomalyDetector(window=10, epochs=2, hidden=(8,), recurrent_weight=0).fit(x[:200])
    >>> stream = SeriesStream(det)
    >>> parts = [stream.update(x[200 + i : 210 + i]) for i in range(0, 100, 10)]  # 10 points at a time
    >>> [len(p) for p in parts[:3]]  # a step's score is final once its last window arrived
    [1, 10, 10]
    >>> scores = np.concatenate([*parts, stream.flush()])
    >>> bool(np.allclose(scores, det.anomaly_score(x[200:]), rtol=0, atol=1e-6))  # the batch scores
    True
    """

    def __init__(self, detector):
        detector._check_fitted()
        self.detector = detector
        self.reset()

    def reset(self) -> None:
        """Start a new stream: the next :meth:`update` is the series' first point."""
        w, F = self.detector.window_, self.detector.n_features_in_
        self.tail = np.zeros((0, F))  # the last window - 1 scaled points
        self.pending = np.zeros((0, w, F))  # the point values of the last window - 1 windows
        self.first = 0  # the step where the first pending window starts
        self.seen = 0  # points received
        self.done = 0  # steps whose score was returned

    def update(self, points) -> np.ndarray:
        """Score new points; returns the scores of the steps that became final.

        A step's score is final once every window that covers it has arrived,
        ``window - 1`` points later; :meth:`flush` returns the rest at the end.
        The scores equal those of ``anomaly_score`` on the whole series.
        """
        det = self.detector
        x, _ = det._values(points, reset=False)
        xs = np.concatenate([self.tail, det._scaled(x)])
        self.seen += len(x)
        w = det.window_
        if len(xs) >= w:
            self.pending = np.concatenate([self.pending, det.scorer_.errors(ts.sliding_windows(xs, w))])
        self.tail = xs[-(w - 1) :] if w > 1 else xs[:0]
        return self._emit(last=self.seen - w)  # steps up to the newest window's start are final

    def flush(self) -> np.ndarray:
        """End the stream: the scores of its last ``window - 1`` steps (covered by fewer windows)."""
        out = self._emit(last=self.seen - 1)
        self.reset()
        return out

    def _emit(self, last: int) -> np.ndarray:
        """Scores of steps ``done .. last``; then drop the windows no later step needs."""
        n = last - self.done + 1
        if n <= 0 or len(self.pending) == 0:
            return np.zeros(0)
        per = ts.step_means(self.pending, 0, last - self.first + 1)[self.done - self.first :]
        out = combine_channels(per)
        self.done = last + 1
        drop = max(0, self.done - self.detector.window_ + 1 - self.first)  # windows that end before the next step
        self.pending, self.first = self.pending[drop:], self.first + drop
        return out
