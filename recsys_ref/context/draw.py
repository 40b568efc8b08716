"""An outfit as a picture: one matplotlib patch per garment layer (notebooks 30–31)."""

from __future__ import annotations

import textwrap
from typing import Any


def draw_outfit(ax: Any, outfit_layers: dict[str, str], title: str = "") -> None:
    """An outfit as a picture: one matplotlib patch per layer, coloured by garment."""
    from matplotlib.patches import Circle, FancyBboxPatch, Polygon, Rectangle

    from ..data.outfits import GARMENTS

    def colour(layer: str) -> str:
        return GARMENTS[outfit_layers[layer]][2]

    ax.set_xlim(0, 10)
    ax.set_ylim(0, 14)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(Circle((5, 12.3), 1.0, fc="#f1d3b3", ec="#555"))  # head
    bottom = outfit_layers["bottom"]
    if bottom == "skirt":
        ax.add_patch(
            Polygon(
                [(3.6, 6.5), (6.4, 6.5), (7.2, 3.5), (2.8, 3.5)], fc=colour("bottom"), ec="#333"
            )
        )
    else:
        length = 2.2 if bottom == "shorts" else 5.0
        for x0 in (3.6, 5.1):
            ax.add_patch(Rectangle((x0, 6.5 - length), 1.3, length, fc=colour("bottom"), ec="#333"))
    outer = "outer" in outfit_layers
    long_outer = outer and outfit_layers["outer"] in ("trench coat", "wool coat", "padded coat")
    if outer:
        y0 = 4.2 if long_outer else 6.2
        ax.add_patch(
            FancyBboxPatch(
                (2.6, y0), 4.8, 11.0 - y0, boxstyle="round,pad=0.1", fc=colour("outer"), ec="#222"
            )
        )
    if "mid" in outfit_layers:
        ax.add_patch(Rectangle((3.3, 6.5), 3.4, 4.4, fc=colour("mid"), ec="#333"))
    top_w = 2.0 if ("mid" in outfit_layers) else 3.2
    ax.add_patch(Rectangle((5 - top_w / 2, 6.6), top_w, 4.2, fc=colour("top"), ec="#333"))
    if "accessory" in outfit_layers:
        if outfit_layers["accessory"] == "scarf":
            ax.add_patch(Rectangle((3.8, 10.6), 2.4, 0.7, fc=colour("accessory"), ec="#333"))
        else:
            ax.add_patch(
                FancyBboxPatch(
                    (4.0, 12.9),
                    2.0,
                    0.6,
                    boxstyle="round,pad=0.1",
                    fc=colour("accessory"),
                    ec="#333",
                )
            )
    if title:  # long garment lists wrap, so neighbouring titles do not overlap
        lines = [w for line in title.split("\n") for w in textwrap.wrap(line, 26)]
        ax.set_title("\n".join(lines), fontsize=7)
