"""Whole images through a fully convolutional network: padding to a multiple of 2^k, and tiles with blending.

A network of ``k`` stride-2 stages needs sides that are multiples of ``2^k``:
:func:`pad_to_multiple` pads (reflecting the border) and the caller crops back.
:func:`tiled_apply` runs the network on overlapping tiles of the padded image,
so memory is bounded by the tile size and not by the photo's:

- tiles are ``tile x tile`` pixels, placed on a grid with step
  ``tile - overlap`` and aligned to ``multiple`` (so every tile sees the same
  stride-2 phase as the whole image does);
- each tile's output is weighted by a separable ramp that is 0 within
  ``margin`` pixels of an edge it shares with another tile and rises linearly
  to 1 across the rest of the overlap; outputs are divided by the summed
  weights (one row and one column vector, as the weights are separable).

When ``margin`` is at least the network's receptive-field radius, every
pixel that gets a non-zero weight saw exactly the context it sees in the
whole image, so the result equals whole-image inference to float rounding.
Only the input, the output and one batch of tiles are held at a time.

Both functions take a torch tensor or a NumPy array and give back the same kind; torch is imported only
for a tensor, so the shipped denoiser's onnxruntime path runs without it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def padded_size(size: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is >= ``size``."""
    return -(-size // multiple) * multiple


def pad_to_multiple(x, multiple: int) -> tuple:
    """Pad ``(B, C, H, W)`` (a tensor or an array) on the bottom and right to multiples of ``multiple``.

    Returns the padded image and ``(H, W)``. Reflection is used where the image is large enough, else the
    border is repeated.

    Examples
    --------
    >>> import torch
    >>> y, hw = pad_to_multiple(torch.zeros(1, 1, 5, 9), 8)
    >>> tuple(y.shape), hw
    ((1, 1, 8, 16), (5, 9))
    >>> a = np.arange(6.0).reshape(1, 1, 2, 3)
    >>> pad_to_multiple(a, 4)[0][0, 0].tolist() == pad_to_multiple(torch.from_numpy(a), 4)[0][0, 0].tolist()
    True
    """
    h, w = x.shape[-2:]
    ph, pw = padded_size(h, multiple) - h, padded_size(w, multiple) - w
    if ph == 0 and pw == 0:
        return x, (h, w)
    reflect = ph < h and pw < w
    if isinstance(x, np.ndarray):
        widths = [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)]
        return np.pad(x, widths, mode="reflect" if reflect else "edge"), (h, w)
    import torch.nn.functional as F

    return F.pad(x, (0, pw, 0, ph), mode="reflect" if reflect else "replicate"), (h, w)


def _starts(size: int, tile: int, step: int, multiple: int) -> list[int]:
    """Tile origins along one axis: every ``step``, then one flush with the end."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step))
    last = size - tile
    last -= last % multiple
    if starts[-1] != last:
        starts.append(last)
    if starts[-1] + tile < size:  # only when size is not a multiple of ``multiple``
        starts.append(size - tile)
    return starts


def _ramp(length: int, at_start: bool, at_end: bool, margin: int, ramp: int) -> np.ndarray:
    """1-D weights of one tile: 0 for ``margin`` pixels at a shared edge, then a linear rise over ``ramp``."""
    w = np.ones(length, np.float64)
    d = np.arange(length, dtype=np.float64)
    rise = np.clip((d - margin + 1) / (ramp + 1), 0.0, 1.0)
    if not at_start:
        w *= rise
    if not at_end:
        w *= rise[::-1]
    return w


def tile_plan(size: int, tile: int, overlap: int, margin: int, multiple: int) -> list[tuple[int, np.ndarray]]:
    """``(start, weights)`` of the tiles along one axis of ``size`` (already a multiple of ``multiple``)."""
    step = max(multiple, (tile - overlap) // multiple * multiple)
    starts = _starts(size, tile, step, multiple)
    ramp = max(overlap - 2 * margin, 0)
    out = []
    for i, s in enumerate(starts):
        length = min(tile, size - s)
        out.append((s, _ramp(length, i == 0, i == len(starts) - 1, margin, ramp)))
    return out


def tiled_apply(fn: Callable, image, *, tile: int = 256, overlap: int = 64, margin: int | None = None,
                multiple: int = 1, batch: int = 4):
    """Apply ``fn`` (``(B, C, t, t) -> (B, C', t, t)``) to a ``(C, H, W)`` image tile by tile.

    Parameters
    ----------
    fn : callable
        A size-preserving fully convolutional map (the caller sets ``no_grad`` / ``eval``).
    image : tensor or NumPy array ``(C, H, W)``
        ``fn`` is given tiles of the same kind (a NumPy array for an onnxruntime session).
    tile, overlap : int
        Tile side and the overlap between neighbours (rounded to ``multiple``).
    margin : int, optional
        Pixels at each shared tile edge given no weight (default ``overlap // 4``);
        at least the receptive-field radius for exact agreement with whole-image inference.
    multiple : int
        ``2^k`` of the network: the image is padded to it and tiles are aligned to it.
    batch : int
        Tiles run at once.

    Returns
    -------
    ``(C', H, W)``, float32: a tensor (on the CPU) for a tensor, an array for an array

    Examples
    --------
    >>> import torch
    >>> conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    >>> x = torch.rand(1, 70, 90)
    >>> with torch.no_grad():
    ...     whole, tiled = conv(x[None])[0], tiled_apply(conv, x, tile=32, overlap=8, margin=2)
    >>> bool(torch.allclose(whole, tiled, atol=1e-6))
    True
    """
    x = image
    if x.ndim != 3:
        raise ValueError(f"tiled_apply takes one (C, H, W) image, got shape {tuple(x.shape)}.")
    multiple = max(int(multiple), 1)
    tile = max(padded_size(int(tile), multiple), multiple)
    overlap = min(padded_size(max(int(overlap), 0), multiple), tile - multiple) if overlap else 0
    margin = overlap // 4 if margin is None else int(margin)
    if overlap and 2 * margin >= overlap:
        raise ValueError(f"margin={margin} leaves no blending zone in overlap={overlap}; use margin < overlap / 2.")
    h, w = x.shape[-2:]
    if isinstance(x, np.ndarray):
        stack, as_array = np.stack, np.asarray
        xp = pad_to_multiple(x[None].astype(np.float32, copy=False), multiple)[0][0]  # (C, Hp, Wp)
    else:
        import torch

        stack, as_array = torch.stack, lambda y: y.detach().float().cpu().numpy()
        xp = pad_to_multiple(x[None].float(), multiple)[0][0]
    hp, wp = xp.shape[-2:]
    rows = tile_plan(hp, tile, overlap, margin, multiple)
    cols = tile_plan(wp, tile, overlap, margin, multiple)
    out: np.ndarray | None = None
    wy = np.zeros(h)
    wx = np.zeros(w)
    for top, ry in rows:
        if top < h:
            wy[top : top + len(ry)] += ry[: h - top]
    for left, rx in cols:
        if left < w:
            wx[left : left + len(rx)] += rx[: w - left]
    jobs = [(t, ry, le, rx) for t, ry in rows for le, rx in cols if t < h and le < w]
    for i in range(0, len(jobs), batch):
        group = jobs[i : i + batch]
        shapes = {(len(ry), len(rx)) for _, ry, _, rx in group}
        parts = []
        for hh, ww in shapes:  # tiles of one size run together
            sel = [j for j in group if (len(j[1]), len(j[3])) == (hh, ww)]
            yb = as_array(fn(stack([xp[:, t : t + hh, le : le + ww] for t, _, le, _ in sel])))
            parts += list(zip(sel, yb))
        for (t, ry, le, rx), y in parts:
            if out is None:
                out = np.zeros((y.shape[0], h, w), dtype=np.float32)
            hh, ww = min(len(ry), h - t), min(len(rx), w - le)
            out[:, t : t + hh, le : le + ww] += y[:, :hh, :ww] * np.outer(ry[:hh], rx[:ww]).astype(np.float32)
    out /= wy.astype(np.float32)[:, None]  # the summed weights are separable: no (H, W) map
    out /= wx.astype(np.float32)[None, :]
    return out if isinstance(x, np.ndarray) else torch.from_numpy(out)


__all__ = ["pad_to_multiple", "padded_size", "tile_plan", "tiled_apply"]
