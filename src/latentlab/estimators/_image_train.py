"""The training loop of :class:`~latentlab.ImageAnomalyDetector`: the autoencoder and, when asked, the head.

Each update draws ``batch_size`` random ``patch x patch`` crops (randomly
flipped left-right and turned by 180 degrees, so that a part's streaks
keep their direction) of the prepared normal images, pastes
synthetic defects on a ``synthetic`` share of them and takes one Adam step
on:

- the autoencoder: give back the clean crop from the defective one
  (L1 + ``1 - SSIM`` or squared error), DRAEM's reconstructive part; without
  a head the defects are :func:`~latentlab.estimators._image_maps.add_defects`
  (the generator the residual defaults were tuned with), with one
  :func:`~latentlab.estimators._image_defects.make_defects`, which also gives
  their masks;
- the head (``head=True``): from the defective crop and its reconstruction
  (not differentiated through), the defects' masks, by focal loss, DRAEM's
  discriminative part.
"""

from __future__ import annotations

import numpy as np
import torch

from ._image_defects import focal_loss, make_defects
from ._image_maps import PatchAutoencoder, SegmentationHead, add_defects, ssim_map


def crops(work: list[np.ndarray], rng: np.random.Generator, n: int, s: int) -> np.ndarray:
    """``(n, C, s, s)`` random crops of the images in ``work`` (each at least ``s`` a side), randomly flipped."""
    batch = np.empty((n, work[0].shape[0], s, s), np.float32)
    for b in range(n):
        w = work[rng.integers(len(work))]
        top, left = rng.integers(w.shape[1] - s + 1), rng.integers(w.shape[2] - s + 1)
        p = w[:, top:top + s, left:left + s]
        k = rng.integers(4)
        batch[b] = np.rot90(p[:, ::-1] if k & 1 else p, k // 2 * 2, axes=(1, 2))
    return batch


def train(det, work: list[np.ndarray], rng: np.random.Generator) -> tuple[PatchAutoencoder, SegmentationHead | None]:
    """The fitted networks of detector ``det`` (its parameters) on the prepared, padded images ``work``."""
    c = work[0].shape[0]
    ae = PatchAutoencoder(c, tuple(det.channels), det.latent)
    head = SegmentationHead(c, tuple(det.head_channels)) if det.head else None
    params = list(ae.parameters()) + (list(head.parameters()) if head is not None else [])
    opt = torch.optim.Adam(params, lr=det.lr)
    ae.train()
    for step in range(det.steps):
        batch = crops(work, rng, det.batch_size, det.patch)
        if head is None:  # the generator the residual defaults were tuned with
            noisy, masks = add_defects(batch, rng, det.synthetic), None
        else:
            noisy, masks = make_defects(batch, rng, det.synthetic)
        target, x = torch.from_numpy(batch), torch.from_numpy(noisy)
        recon = ae(x)
        if det.loss == "l2":
            loss = ((recon - target) ** 2).mean()
        else:
            loss = (recon - target).abs().mean() + (1 - ssim_map(recon, target)).mean()
        if head is not None:
            loss = loss + focal_loss(head(x, recon.detach()), torch.from_numpy(masks))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if det.verbose and (step % 200 == 0 or step == det.steps - 1):
            print(f"step {step + 1}/{det.steps}: loss {loss.item():.4f}")
    ae.eval()
    if head is not None:
        head.eval()
    return ae, head


__all__ = ["train", "crops"]
