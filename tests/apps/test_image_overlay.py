"""The overlay figure: a PNG of the image's size ratio, written atomically, with the mask contour drawn."""

import numpy as np
from PIL import Image

from latentlab.apps.image_overlay import overlay_png


def test_overlay_png_is_written(tmp_path):
    image = np.full((1, 30, 40), 0.5, np.float32)
    amap = np.zeros((30, 40), np.float32)
    amap[10:15, 10:15] = 1.0
    mask = amap > 0.5
    out = overlay_png(image, amap, 3.25, tmp_path / "o.png", threshold=0.5, mask=mask, title="part 7")
    with Image.open(out) as im:
        w, h = im.size
        pixels = np.asarray(im.convert("RGB"))
    assert w > h  # landscape like the image
    red_minus_blue = pixels[..., 0].astype(int) - pixels[..., 2]
    assert red_minus_blue.max() > 40 and red_minus_blue.min() < -40  # a red hot spot on a blue (cold) layer
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temporary left behind
