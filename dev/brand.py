"""Draw the integration's brand images: ``python -m dev.brand``.

Writes ``custom_components/fusionsolar/brand/icon.png`` (256 px) and ``icon@2x.png``
(512 px): a sun above a solar panel. Home Assistant 2026.3 and newer serve a custom
integration's ``brand/`` folder through its brands API (logos fall back to the icon,
so no logo is drawn). Older releases load images only from the brands CDN, which no
longer accepts custom integrations: they show a placeholder.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

from .config import INTEGRATION

SUN = (255, 160, 0, 255)
PANEL = (21, 101, 192, 255)
GRID = (187, 222, 251, 255)
FRAME = (13, 71, 161, 255)


def draw_icon(size: int) -> Image.Image:
    """Return the icon at ``size`` x ``size`` pixels on a transparent background."""
    scale = 4  # draw large, then downsample for smooth edges
    px = size * scale
    image = Image.new("RGBA", (px, px), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = px / 32

    cx, cy, radius = 16 * unit, 10 * unit, 4.5 * unit
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=SUN)
    for index in range(8):
        angle = math.pi / 4 * index
        inner, outer = 6.2 * unit, 8.6 * unit
        draw.line(
            (
                cx + inner * math.cos(angle),
                cy + inner * math.sin(angle),
                cx + outer * math.cos(angle),
                cy + outer * math.sin(angle),
            ),
            fill=SUN,
            width=round(1.4 * unit),
        )

    # A panel in perspective: a trapezoid split into a 4 x 3 grid of cells.
    top, bottom, left_top, right_top, left_bottom, right_bottom = (
        19 * unit,
        30 * unit,
        7 * unit,
        25 * unit,
        2 * unit,
        30 * unit,
    )
    draw.polygon(
        [(left_top, top), (right_top, top), (right_bottom, bottom), (left_bottom, bottom)],
        fill=PANEL,
        outline=FRAME,
        width=round(0.8 * unit),
    )
    for row in range(1, 3):
        t = row / 3
        y = top + (bottom - top) * t
        x0 = left_top + (left_bottom - left_top) * t
        x1 = right_top + (right_bottom - right_top) * t
        draw.line((x0, y, x1, y), fill=GRID, width=round(0.6 * unit))
    for column in range(1, 4):
        s = column / 4
        draw.line(
            (
                left_top + (right_top - left_top) * s,
                top,
                left_bottom + (right_bottom - left_bottom) * s,
                bottom,
            ),
            fill=GRID,
            width=round(0.6 * unit),
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write the brand images."""
    folder = INTEGRATION / "brand"
    folder.mkdir(exist_ok=True)
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        draw_icon(size).save(folder / name, optimize=True)
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main()
