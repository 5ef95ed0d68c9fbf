"""Train the ImageCodec that benchmarks/image_codec_skimage.py evaluates (one model, every quality).

Training photos (grey; colour ones as their luma): moon, page, text, brick,
grass, gravel, cell, immunohistochemistry, hubble_deep_field, retina.
Validation (watched during training, never reported): rocket.
Held out for the test table: coins, clock, stereo_motorcycle (left view).

The model is saved to ``runs/image_codec/model`` (gitignored) after every
few epochs, so the benchmark can be re-run without training again. Process CPU
seconds of training are stored in its ``metrics.json``.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/train_image_codec.py [--epochs 12]

The codec meant to ship is trained by ``benchmarks/recipes/codec.py`` instead (Train400, resumable,
the scale hyperprior); this script stays for the first benchmark's model.
"""

from __future__ import annotations

import argparse
import time

import torch
from _record import name_for, write_record
from _record import start as start_clock

from latentlab.data.patches import PatchSampler
from latentlab.data.photos import skimage_photos
from latentlab.models.image_codec import ImageCodecModel
from latentlab.training import Callback

TRAIN = ("moon", "page", "text", "brick", "grass", "gravel", "cell", "immunohistochemistry", "hubble_deep_field", "retina")
VALIDATION = ("rocket",)
TEST = ("coins", "clock", "stereo_motorcycle")
OUT = "runs/image_codec/model"


class SaveEvery(Callback):
    """Save the model every ``every`` epochs with the CPU seconds spent so far."""

    def __init__(self, path: str, every: int, start_cpu: float, spent_before: float = 0.0, epochs_before: int = 0):
        self.path, self.every, self.start, self.before = path, every, start_cpu, spent_before
        self.epochs_before = epochs_before

    def on_train_begin(self, trainer) -> None:
        self.history_before = list(trainer.model.history)

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        cpu = self.before + time.process_time() - self.start
        print(f"epoch {epoch}: {({k: round(v, 5) for k, v in logs.items()})} cpu={cpu:.0f}s", flush=True)
        if (epoch + 1) % self.every == 0:
            model = trainer.model
            model.fitted = True
            model.history = list(self.history_before) + list(trainer.history)
            model.save(self.path, {"train_cpu_seconds": cpu, "epochs_done": self.epochs_before + epoch + 1})
            model.train()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--patches", type=int, default=2560, help="patches per epoch")
    ap.add_argument("--patch-size", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--latent-channels", type=int, default=96)
    ap.add_argument("--entropy", choices=("factorized", "hyperprior"), default="factorized")
    ap.add_argument("--amp", type=int, default=1, help="bf16 autocast in training (inference is float32)")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--resume", default=None, help="continue from this saved model (a new schedule; CPU seconds add up)")
    args = ap.parse_args()
    clock = start_clock()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train = PatchSampler(list(skimage_photos(TRAIN, mode="L").values()), args.patch_size, args.patches, seed=0)
    val = PatchSampler(list(skimage_photos(VALIDATION, mode="L").values()), args.patch_size, 64, fixed=True, seed=1)
    model = ImageCodecModel(channels=args.channels, latent_channels=args.latent_channels, entropy=args.entropy)
    before, done = 0.0, 0
    if args.resume:
        model = ImageCodecModel.load(args.resume)
        before, done = model.metrics.get("train_cpu_seconds", 0.0), model.metrics.get("epochs_done", 0)
        print(f"resuming from {args.resume}: {done} epochs, {before:.0f} CPU seconds", flush=True)
    start = time.process_time()
    cb = SaveEvery(args.out, 1, start, before, done)
    model.fit(train, validation=val, callbacks=[cb], epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
              grad_clip=1.0, amp=bool(args.amp), verbose=False, lr_schedule="cosine", device="cpu")
    cpu = before + time.process_time() - start
    model.save(args.out, {"train_cpu_seconds": cpu, "epochs_done": done + args.epochs, "train_photos": list(TRAIN),
                          "patch_size": args.patch_size, "patches_per_epoch": args.patches})
    print(f"trained in {cpu:.0f} CPU seconds; saved to {args.out}")
    write_record(name_for("train_image_codec", ap, args, ignore=("out",)),
                 {"train_cpu_s": cpu, "epochs_done": done + args.epochs, "history": model.history}, started=clock,
                 args=args, split="training photos (validation: rocket)",
                 notes="the codec that benchmarks/image_codec_skimage.py evaluates; resumed runs add their CPU seconds")


if __name__ == "__main__":
    main()
