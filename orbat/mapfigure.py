"""The map picture: located sightings and convoy tracks drawn on a graticule (matplotlib).

:func:`map_figure` draws :class:`orbat.maplayers.MapLayers` as a small
matplotlib figure; :func:`map_png` renders it for the Summary sheet of the
report, and the notebook shows the same figure. No basemap is downloaded: a
graticule of labelled parallels and meridians gives the scale and position,
which is what an analyst needs to read the spread and the direction of
movement. Points are coloured by event (the colours of the map layers) and
sized by the vehicles seen.

Text from the input (place names) is drawn with math parsing off, so ``$``
in a name is a dollar sign, never TeX.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence

#: Graticule steps in degrees, the first that gives at most about eight lines across is used.
GRATICULE_STEPS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 45, 60)
#: Place names written on the picture (the places with most vehicles): more would hide the points.
MAX_LABELS = 6
#: The smallest span shown (degrees): a single point still gets a readable neighbourhood.
MIN_SPAN = 0.2


def _step(span: float, lines: int = 8) -> float:
    for step in GRATICULE_STEPS:
        if span / step <= lines:
            return step
    return GRATICULE_STEPS[-1]


def _degrees(value: float, positive: str, negative: str, step: float) -> str:
    decimals = 0 if step >= 1 else max(0, -math.floor(math.log10(step)))
    hemisphere = positive if value > 0 else negative if value < 0 else ""
    return f"{abs(value):.{decimals}f}°{hemisphere}"


def extent(lons: Sequence[float], lats: Sequence[float]) -> tuple[float, float, float, float]:
    """(west, east, south, north) around the positions, padded by 10 %, at least :data:`MIN_SPAN` wide."""
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    pad_x = max((east - west) * 0.1, (MIN_SPAN - (east - west)) / 2, 0.0)
    pad_y = max((north - south) * 0.1, (MIN_SPAN - (north - south)) / 2, 0.0)
    return (max(-180.0, west - pad_x), min(180.0, east + pad_x), max(-90.0, south - pad_y), min(90.0, north + pad_y))


def map_figure(layers, *, width_cm: float = 12.0, height_cm: float = 9.0):
    """A matplotlib Figure of the layers' points and tracks on a graticule (no pyplot state is touched)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from orbat.maplayers import EVENT_COLORS, EVENT_PRIORITY, TRACK_COLOR

    fig = Figure(figsize=(width_cm / 2.54, height_cm / 2.54), layout="constrained")
    ax = fig.add_subplot()
    points = layers.columns  # the columns, not a MapPoint per sighting
    located = f"{len(points)} of {layers.sightings} sightings on the map"
    if layers.unlocated:
        located += f", {len(layers.unlocated)} without coordinates"
    ax.set_title(located, fontsize=8, loc="left")
    if not len(points):
        ax.text(0.5, 0.5, "no sighting has coordinates", ha="center", va="center", transform=ax.transAxes,
                fontsize=9, color="#555555", parse_math=False)
        ax.set_axis_off()
        return fig
    lons, lats = points.lon, points.lat
    vehicles = [v or 0 for v in points.properties.get("vehicles", [0] * len(points))]
    place_of = points.properties.get("place", [None] * len(points))
    west, east, south, north = extent(lons, lats)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    # Equirectangular with the scale true at the middle latitude: distances read right across the view.
    mid = math.radians((south + north) / 2)
    ax.set_aspect(1 / max(math.cos(mid), 0.05), adjustable="box")
    step = _step(max(east - west, north - south))
    ax.set_xticks([x * step for x in range(math.ceil(west / step), math.floor(east / step) + 1)])
    ax.set_yticks([y * step for y in range(math.ceil(south / step), math.floor(north / step) + 1)])
    ax.set_xticklabels([_degrees(x, "E", "W", step) for x in ax.get_xticks()], fontsize=6)
    ax.set_yticklabels([_degrees(y, "N", "S", step) for y in ax.get_yticks()], fontsize=6)
    ax.grid(True, color="#c8d0da", linewidth=0.5)
    ax.set_facecolor("#f4f7fb")

    if layers.tracks:
        # One collection of open paths, not a line per track (minutes for 20,000 convoys); as a
        # PolyCollection the legend's "best" place still avoids every track, path by path.
        from matplotlib.collections import PolyCollection

        ax.add_collection(PolyCollection([track.coordinates for track in layers.tracks], closed=False,
                                         facecolors="none", edgecolors=TRACK_COLOR, linewidths=1.2, alpha=0.8,
                                         zorder=2), autolim=False)
    _arrowheads(ax, layers.tracks, color=TRACK_COLOR)
    shown = []
    for event in reversed(EVENT_PRIORITY):  # losses drawn last, on top
        group = [i for i, e in enumerate(points.event) if e == event]
        if not group:
            continue
        sizes = [12 + 4 * math.sqrt(max(0, vehicles[i])) for i in group]
        ax.scatter([lons[i] for i in group], [lats[i] for i in group], s=sizes, c=EVENT_COLORS[event],
                   edgecolors="white", linewidths=0.4, alpha=0.9, zorder=3)
        shown.append(event)
    labelled = sorted(range(len(points)), key=lambda i: -vehicles[i])
    places: list[str] = []
    taken: list[tuple[float, float]] = []
    near_x, near_y = (east - west) * 0.12, (north - south) * 0.05
    for i in labelled:
        place, lon, lat = place_of[i], lons[i], lats[i]
        if not place or place in places:
            continue
        # One label per neighbourhood: the points around Bamako would write over each other.
        if any(abs(lon - x) < near_x and abs(lat - y) < near_y for x, y in taken):
            continue
        places.append(place)
        taken.append((lon, lat))
        ax.annotate(place[:40], (lon, lat), xytext=(4, 3), textcoords="offset points", fontsize=6,
                    color="#333333", zorder=4, annotation_clip=True, parse_math=False)
        if len(places) >= MAX_LABELS:
            break
    handles = [Line2D([], [], marker="o", linestyle="", color=EVENT_COLORS[e], label=e) for e in reversed(shown)]
    if layers.tracks:
        handles.append(Line2D([], [], color=TRACK_COLOR, label="convoy track"))
    ax.legend(handles=handles, fontsize=6, loc="best", framealpha=0.8)
    ax.text(0.99, 0.01, f"graticule {_degrees(step, '', '', step)}, WGS 84; no basemap", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=5, color="#777777")
    return fig


#: The arrowhead of a track's last leg, as matplotlib's ``-|>`` arrow of an annotation draws it (points):
#: head length 0.4 and half-width 0.2 of a 10-point mutation scale, the tip 2 points short of the position.
_HEAD_LENGTH, _HEAD_WIDTH, _SHRINK, _LINE_WIDTH = 4.0, 2.0, 2.0, 1.2


def _arrowheads(ax, tracks, *, color: str) -> None:
    """The direction of every track: its last leg drawn solid with a filled arrowhead at its end.

    One collection for all tracks rather than an annotation per track: an
    annotation is a text and an arrow patch each, which the layout and the
    legend placement measure one by one (minutes for 20,000 convoys). The
    heads are made when the picture is drawn, in points along each last leg
    as it shows (a leg of no length has no direction, and no head).
    """
    import numpy as np
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.path import Path
    from matplotlib.transforms import IdentityTransform

    legs = np.array([(track.coordinates[-2], track.coordinates[-1]) for track in tracks], dtype=float)
    if not len(legs):
        return
    ax.add_collection(LineCollection(legs, colors=color, linewidths=_LINE_WIDTH, zorder=2), autolim=False)
    codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
    # matplotlib pulls the tip back so the stroked edge does not overshoot: half the line width over sin(t).
    pad = 0.5 * _LINE_WIDTH / (_HEAD_WIDTH / math.hypot(_HEAD_LENGTH, _HEAD_WIDTH))

    class Heads(PathCollection):
        def draw(self, renderer):
            points = renderer.points_to_pixels(1.0)
            start, end = ax.transData.transform(legs[:, 0]), ax.transData.transform(legs[:, 1])
            length = np.hypot(*(end - start).T) / points
            keep = length > 0
            u = (end - start)[keep] / (length[keep, None] * points)
            n = np.column_stack([-u[:, 1], u[:, 0]])
            tip = -u * (_SHRINK + pad)
            back = tip - u * _HEAD_LENGTH
            heads = np.stack([back + n * _HEAD_WIDTH, tip, back - n * _HEAD_WIDTH, back + n * _HEAD_WIDTH], axis=1)
            self.set_paths([Path(h, codes) for h in heads])
            self.set_offsets(legs[keep, 1] if keep.any() else np.zeros((0, 2)))
            super().draw(renderer)

    heads = Heads([], sizes=[1.0], offsets=legs[:, 1], offset_transform=ax.transData, facecolors=color,
                  edgecolors=color, linewidths=_LINE_WIDTH, zorder=2)
    heads.set_transform(IdentityTransform())
    ax.add_collection(heads, autolim=False)


def map_png(layers, *, width_cm: float = 12.0, height_cm: float = 9.0, dpi: int = 150) -> bytes:
    """The map picture as PNG bytes (the Agg renderer: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = map_figure(layers, width_cm=width_cm, height_cm=height_cm)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A place name in a script the font lacks is drawn with boxes; that is no reason to warn the user.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
