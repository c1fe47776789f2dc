"""Draws the field app's icons (a white cross-hair pin on the command centre's navy) with Pillow.

Run `python scripts/make_icons.py` after changing the design; the PNGs are committed. A build script, kept out of
recovery/static so that it is neither served nor packaged.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

NAVY = (18, 38, 58, 255)
RED = (179, 38, 30, 255)
WHITE = (255, 255, 255, 255)
SIZES = (192, 512)


def draw_icon(size: int, maskable: bool = False) -> Image.Image:
    """A navy square (full-bleed when maskable, rounded otherwise) with a red location pin and a white dot."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, size, size), fill=NAVY)
    else:
        draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=NAVY)
    # keep the pin inside the maskable safe zone (the central 80 %)
    cx, top, r = size / 2, size * 0.24, size * 0.2
    draw.ellipse((cx - r, top, cx + r, top + 2 * r), fill=RED)
    draw.polygon(
        [(cx - r * 0.86, top + r * 1.5), (cx + r * 0.86, top + r * 1.5), (cx, size * 0.78)], fill=RED
    )
    dot = r * 0.42
    draw.ellipse((cx - dot, top + r - dot, cx + dot, top + r + dot), fill=WHITE)
    # the ground line: a site on the road
    draw.rounded_rectangle(
        (size * 0.22, size * 0.8, size * 0.78, size * 0.84), radius=size * 0.02, fill=WHITE
    )
    return image


def main(folder: Path | None = None) -> None:
    folder = folder or Path(__file__).resolve().parent.parent / "recovery" / "static" / "field" / "icons"
    folder.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw_icon(size).save(folder / f"icon-{size}.png", optimize=True)
        draw_icon(size, maskable=True).save(folder / f"maskable-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
