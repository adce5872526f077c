"""KML 2.2 map layers: sightings and convoy tracks for Google Earth, QGIS and ORBAT Mapper.

One Document holding a Document of convoy tracks (``LineString``,
``TimeSpan``) and one of sightings (``Point``, ``TimeStamp``), so Google
Earth's time slider replays them. Each Placemark carries its properties as an
``ExtendedData`` table of a typed ``Schema`` (which GDAL's LIBKML driver,
and so QGIS, read as fields: numbers as numbers) and a balloon ``description``.

Safety: the document is built with lxml, so every text from the input is an
XML text node, never an element (``</name><script>`` stays text, and no
CDATA section is written, so ``]]>`` cannot end one). The description is
HTML that Google Earth renders: its values are HTML-escaped first, so they
show as text there too. Style ids, colours and icon URLs come from
:mod:`orbat.maplayers`' fixed tables; a source becomes a link only when it is
a plain http(s) URL.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Any

from lxml import etree

from orbat.errors import OrbatError

KML_NS = "http://www.opengis.net/kml/2.2"
#: Google Earth's stock icons ("shapes" palette): always there, drawn in the style's colour.
ICON_URL = "https://maps.google.com/mapfiles/kml/shapes/{}.png"

#: Characters XML 1.0 cannot hold (lxml refuses them): removed from texts, the rest kept.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")

#: Properties shown in the ExtendedData table and the balloon, in order (style keys are left out).
POINT_FIELDS = (
    "id", "convoy", "observed_at", "place", "actor", "event", "events", "status", "equipment", "vehicles",
    "vehicles_max", "by_category", "losses", "category", "sidc", "grade", "source", "url", "captor", "notes",
)
TRACK_FIELDS = (
    "id", "convoy", "first_seen", "last_seen", "sightings", "sighting_ids", "places", "actor", "unit",
    "template", "echelon", "kind", "confidence", "likelihood", "vehicles", "vehicles_max",
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return _XML_ILLEGAL.sub("", str(value))


def kml_color(rgb: str, alpha: str = "ff") -> str:
    """``#d62728`` -> ``ff2827d6``: KML writes colours as alpha, blue, green, red."""
    value = rgb.lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", value):
        raise ValueError(f"not a #rrggbb colour: {rgb!r}")
    return (alpha + value[4:6] + value[2:4] + value[0:2]).lower()


def kml_when(observed_at: str | None) -> str | None:
    """A KML time (xsd:date or xsd:dateTime in UTC) from orbat's ISO ``observed_at``."""
    if not observed_at:
        return None
    if _ISO_TIME.match(observed_at):
        return observed_at + (":00" if len(observed_at) == 16 else "") + "Z"
    return observed_at[:10]


def _sub(parent, tag: str, text: Any = None, **attrib):
    el = etree.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = _text(text)
    return el


def _balloon(props: dict[str, Any], fields: tuple[str, ...]) -> str:
    """An HTML table of the properties, every value escaped; only a safe URL becomes a link."""
    rows = []
    for key in fields:
        value = props.get(key)
        if value in (None, "", {}):
            continue
        if key == "url":
            cell = f'<a href="{html.escape(_text(value), quote=True)}">{html.escape(_text(value))}</a>'
        else:
            cell = html.escape(_text(value))
        rows.append(f"<tr><th align=\"left\">{html.escape(key)}</th><td>{cell}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


#: KML types of the numeric properties (the rest are strings), so QGIS reads numbers as numbers.
FIELD_TYPES: dict[str, str] = {
    "vehicles": "int", "vehicles_max": "int", "sightings": "int", "confidence": "double",
}
#: The Schema ids of the two layers.
POINT_SCHEMA, TRACK_SCHEMA = "sighting", "track"


def _schema(document, schema_id: str, fields: tuple[str, ...]) -> None:
    """A typed Schema of the ExtendedData fields (GDAL's LIBKML driver, and so QGIS, type the fields by it)."""
    schema = _sub(document, "Schema", name=schema_id, id=schema_id)
    for key in fields:
        _sub(schema, "SimpleField", name=key, type=FIELD_TYPES.get(key, "string"))


def _extended(placemark, props: dict[str, Any], fields: tuple[str, ...], schema_id: str) -> None:
    data = _sub(_sub(placemark, "ExtendedData"), "SchemaData", schemaUrl="#" + schema_id)
    for key in fields:
        value = props.get(key)
        if value is None:
            continue
        _sub(data, "SimpleData", value, name=key)


def _styles(document, layers) -> None:
    from orbat.maplayers import EVENT_COLORS, TRACK_COLOR, icon_for

    used = {}
    for point in layers.points:
        used.setdefault(point.style_id, (point.event, point.category))
    for sid, (event, category) in sorted(used.items()):
        style = _sub(document, "Style", id=sid)
        icon_style = _sub(style, "IconStyle")
        _sub(icon_style, "color", kml_color(EVENT_COLORS.get(event, EVENT_COLORS["sighting"])))
        _sub(icon_style, "scale", "1.0" if event in ("sighting", "arrival") else "1.2")
        icon = _sub(icon_style, "Icon")
        _sub(icon, "href", ICON_URL.format(icon_for(category)[0]))
        label = _sub(style, "LabelStyle")
        _sub(label, "scale", "0.8")
    style = _sub(document, "Style", id="track")
    line = _sub(style, "LineStyle")
    _sub(line, "color", kml_color(TRACK_COLOR, "e6"))
    _sub(line, "width", "3")


def kml_tree(layers):
    """The layers (:class:`orbat.maplayers.MapLayers`) as an lxml KML element tree."""
    root = etree.Element("kml", nsmap={None: KML_NS})
    document = _sub(root, "Document")
    _sub(document, "name", "orbat map")
    _sub(document, "description", html.escape(layers.summary))
    _styles(document, layers)

    if layers.tracks:
        # A Document per layer, each with its own Schema (GDAL would give one layer the other's fields).
        folder = _sub(document, "Document")
        _sub(folder, "name", "Convoy tracks")
        _schema(folder, TRACK_SCHEMA, TRACK_FIELDS)
        for track in layers.tracks:
            props = track.properties
            placemark = _sub(folder, "Placemark")
            _sub(placemark, "name", props["title"])
            span = _sub(placemark, "TimeSpan")
            if kml_when(track.begin):
                _sub(span, "begin", kml_when(track.begin))
            if kml_when(track.end):
                _sub(span, "end", kml_when(track.end))
            _sub(placemark, "styleUrl", "#track")
            _sub(placemark, "description", _balloon(props, TRACK_FIELDS))
            _extended(placemark, props, TRACK_FIELDS, TRACK_SCHEMA)
            line = _sub(placemark, "LineString")
            _sub(line, "tessellate", "1")
            _sub(line, "coordinates", " ".join(f"{lon!r},{lat!r}" for lon, lat in track.coordinates))

    folder = _sub(document, "Document")
    _sub(folder, "name", "Sightings")
    _schema(folder, POINT_SCHEMA, POINT_FIELDS)
    for point in layers.points:
        props = point.properties
        placemark = _sub(folder, "Placemark")
        _sub(placemark, "name", props.get("title") or point.sighting_id)
        when = kml_when(props.get("observed_at"))
        if when:
            stamp = _sub(placemark, "TimeStamp")
            _sub(stamp, "when", when)
        _sub(placemark, "styleUrl", "#" + point.style_id)
        _sub(placemark, "description", _balloon(props, POINT_FIELDS))
        _extended(placemark, props, POINT_FIELDS, POINT_SCHEMA)
        geometry = _sub(placemark, "Point")
        _sub(geometry, "coordinates", f"{point.lon!r},{point.lat!r}")
    return etree.ElementTree(root)


def kml_bytes(layers) -> bytes:
    """The layers as a UTF-8 KML document."""
    return etree.tostring(kml_tree(layers), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_kml(layers, path: str | os.PathLike) -> Path:
    """Write the layers as a ``.kml`` file; it appears only once complete."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(kml_bytes(layers))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OrbatError(f"{path}: cannot write ({exc.strerror})") from None
    return path
