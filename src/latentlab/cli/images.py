"""``latentlab train-image-detector FOLDER --out RUN`` and ``latentlab detect-images FOLDER --model RUN --out OUT/``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub, command: str | None = None) -> None:
    """Add this group's sub-commands to the parser (``command``: see :func:`latentlab.cli.build_parser`)."""
    t = sub.add_parser(
        "train-image-detector",
        help="train an ImageAnomalyDetector on a folder of images of normal parts",
        description="Fit an ImageAnomalyDetector on the normal images in FOLDER (any sizes, grey or colour) and "
        "save it to --out. A share of the images is held out to set the threshold.",
    )
    t.add_argument("folder", metavar="FOLDER")
    t.add_argument("--out", required=True, metavar="RUN")
    t.add_argument("--steps", type=int, default=600, help="training updates (default 600)")
    t.add_argument("--max-side", type=int, default=256, help="longer side images are scored at (default 256)")
    t.add_argument("--contamination", type=float, default=0.01, help="false-alarm rate on held-out normal images")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(handler=cmd_train)

    d = sub.add_parser(
        "detect-images",
        help="score a folder of images with a trained ImageAnomalyDetector",
        description="Write OUT/scores.csv (file, score, label: 1 above the model's threshold) and one overlay PNG "
        "per flagged image (the map as a heat layer, the score in the title).",
    )
    d.add_argument("folder", metavar="FOLDER")
    d.add_argument("--model", required=True, metavar="RUN", help="folder written by train-image-detector")
    d.add_argument("--out", required=True, metavar="OUT")
    d.set_defaults(handler=cmd_detect)


def cmd_train(args: argparse.Namespace) -> int:
    import latentlab

    det = latentlab.ImageAnomalyDetector(steps=args.steps, max_side=args.max_side,
                                         contamination=args.contamination, random_state=args.seed)
    det.fit(args.folder)
    det.save(args.out)
    print(f"saved to {args.out} (threshold {det.threshold_:.4g}, fit {det.fit_seconds_:.0f} CPU s)")
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab._files import atomic_write_bytes
    from latentlab.apps.image_overlay import overlay_png
    from latentlab.data.photos import EXTENSIONS, load_photos
    from latentlab.errors import DataError

    det = latentlab.ImageAnomalyDetector.load(args.model)
    src = Path(args.folder)
    files = sorted(f for f in src.iterdir() if f.suffix.lower() in EXTENSIONS) if src.is_dir() else [src]
    if not files:
        raise DataError(f"{src} holds no images ({', '.join(EXTENSIONS)}).")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["file,score,label"]
    flagged = 0
    for f in files:
        image = load_photos([f])[0]
        score = float(det.score_images([image])[0])
        label = int(score > det.threshold_)
        name = Path(str(f)).name
        lines.append(f"{name.replace(',', '_')},{score:.6g},{label}")
        if label:  # the map only for the overlay of a flagged image: each costs a pass of the network
            flagged += 1
            overlay_png(image, det.anomaly_maps([image])[0], score, out / f"{Path(name).stem}_overlay.png", threshold=det.threshold_,
                        title=name)
    atomic_write_bytes(out / "scores.csv", ("\n".join(lines) + "\n").encode())
    print(f"{flagged} of {len(files)} images flagged; scores in {out / 'scores.csv'}")
    return 0
