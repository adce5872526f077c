"""KML 2.2 map layers: sightings and convoy tracks for Google Earth, QGIS and ORBAT Mapper.

One Document holding a Document of convoy tracks (``LineString``,
``TimeSpan``) and one of sightings (``Point``, ``TimeStamp``), so Google
Earth's time slider replays them. Each Placemark carries its properties as an
``ExtendedData`` table of a typed ``Schema`` (which GDAL's LIBKML driver,
and so QGIS, read as fields: numbers as numbers) and a balloon ``description``.

Safety: every text from the input is an XML text node, never an element
(``</name><script>`` stays text, and no CDATA section is written, so ``]]>``
cannot end one). :func:`kml_tree` builds the document with lxml, which
escapes each text; :func:`kml_bytes` (what :func:`write_kml` writes) fills
a text template per placemark with the same escaping (``&``, ``<``, ``>``
and carriage returns), and the tests check its bytes are lxml's. The description is
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
from itertools import repeat
from pathlib import Path
from typing import Any

from lxml import etree

from orbat.outfiles import replaced_when_done

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
    """The layers (:class:`orbat.maplayers.MapLayers`) as an lxml KML element tree.

    The plain reference of the document: :func:`kml_bytes` writes the same
    bytes as text, about ten times faster (the tests compare them).
    """
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
    """The layers as a UTF-8 KML document: the bytes lxml writes for :func:`kml_tree`, built as text.

    Every placemark is one template filled column by column (each distinct
    value escaped once, a column without a character to escape not touched);
    ``tests/test_kml.py`` checks the bytes against :func:`kml_tree`'s.
    """
    return "".join(_document(layers)).encode("utf-8")


def _document(layers) -> list[str]:
    """The KML document as a list of texts to join or write in turn."""
    from orbat.collector import gc_paused

    with gc_paused():
        return _pieces(layers)


def _pieces(layers) -> list[str]:
    from orbat.maplayers import EVENT_COLORS, TRACK_COLOR, icon_for

    out = ["<?xml version='1.0' encoding='UTF-8'?>\n", f'<kml xmlns="{KML_NS}">\n', "  <Document>\n",
           "    <name>orbat map</name>\n", f"    <description>{_xml(html.escape(layers.summary))}</description>\n"]
    points = layers.columns
    styles = points.style_ids()
    used: dict[str, tuple[str, str]] = {}
    for sid, event, category in zip(styles, points.event, points.category):
        if sid not in used:
            used[sid] = (event, category)
    for sid, (event, category) in sorted(used.items()):
        out.append(
            f'    <Style id="{sid}">\n      <IconStyle>\n'
            f"        <color>{kml_color(EVENT_COLORS.get(event, EVENT_COLORS['sighting']))}</color>\n"
            f"        <scale>{'1.0' if event in ('sighting', 'arrival') else '1.2'}</scale>\n"
            f"        <Icon>\n          <href>{_xml(ICON_URL.format(icon_for(category)[0]))}</href>\n        </Icon>\n"
            "      </IconStyle>\n      <LabelStyle>\n        <scale>0.8</scale>\n      </LabelStyle>\n    </Style>\n")
    out.append(f'    <Style id="track">\n      <LineStyle>\n        <color>{kml_color(TRACK_COLOR, "e6")}</color>\n'
               "        <width>3</width>\n      </LineStyle>\n    </Style>\n")
    if layers.tracks:
        out += _folder("Convoy tracks", TRACK_SCHEMA, TRACK_FIELDS)
        out += _track_placemarks(layers.tracks)
        out.append("    </Document>\n")
    out += _folder("Sightings", POINT_SCHEMA, POINT_FIELDS)
    out += _point_placemarks(points, styles)
    out.append("    </Document>\n  </Document>\n</kml>\n")
    return out


def _folder(name: str, schema_id: str, fields: tuple[str, ...]) -> list[str]:
    """A layer's Document up to its first Placemark: name and typed Schema."""
    out = ["    <Document>\n", f"      <name>{_xml(name)}</name>\n",
           f'      <Schema name="{schema_id}" id="{schema_id}">\n']
    out += [f'        <SimpleField name="{key}" type="{FIELD_TYPES.get(key, "string")}"/>\n' for key in fields]
    out.append("      </Schema>\n")
    return out


_XML_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
#: A balloon value: HTML-escaped (as html.escape does), then XML-escaped (as lxml does) in one pass of replaces.
_BALLOON_ESCAPES = (("&", "&amp;amp;"), ("<", "&amp;lt;"), (">", "&amp;gt;"), ('"', "&amp;quot;"),
                    ("'", "&amp;#x27;"), ("\r", "&#13;"))


def _xml(text: str) -> str:
    """Text as lxml writes it in an element: ``&``, ``<``, ``>`` and carriage returns escaped."""
    for char, entity in _XML_ESCAPES:
        if char in text:
            text = text.replace(char, entity)
    return text


def _escaped(texts: list[str | None], escapes: tuple[tuple[str, str], ...]) -> list[str | None]:
    """Every text escaped with ``escapes`` (None kept); a column without any of their characters comes back as it is."""
    joined = "\n".join([t for t in texts if t is not None])
    todo = [(c, e) for c, e in escapes if c in joined]
    if not todo:
        return texts
    out = []
    for text in texts:
        if text is not None:
            for char, entity in todo:
                if char in text:
                    text = text.replace(char, entity)
        out.append(text)
    return out


def _dict_text(value: dict, keys: dict[str, str]) -> str:
    """``json.dumps(value, ensure_ascii=False)`` for a dict of str keys and int values, without the encoder's cost."""
    parts = []
    for key, count in value.items():
        if key.__class__ is not str or count.__class__ is not int:
            return json.dumps(value, ensure_ascii=False)
        name = keys.get(key)
        if name is None:
            name = keys[key] = json.dumps(key, ensure_ascii=False)
        parts.append(f"{name}: {count}")
    return "{" + ", ".join(parts) + "}"


def _texts_of(values: list) -> list[str | None]:
    """:func:`_text` of each value, None kept as None (a dict's JSON, a number's digits)."""
    keys: dict[str, str] = {}
    out: list[str | None] = []
    for value in values:
        if value is None or value.__class__ is str:
            out.append(value)
        elif value.__class__ is dict:
            out.append(_dict_text(value, keys))
        else:
            out.append(str(value))
    # Characters XML cannot hold are removed, looked for once in the whole column.
    if _XML_ILLEGAL.search("\n".join([t for t in out if t is not None])):
        out = [None if t is None else _XML_ILLEGAL.sub("", t) for t in out]
    return out


def _cells(key: str, values: list) -> tuple[list[str], list[str]]:
    """A property's balloon row and its SimpleData line, per placemark ("" where the value is left out)."""
    texts = _texts_of(values)
    head = f'&lt;tr&gt;&lt;th align="left"&gt;{_xml(html.escape(key))}&lt;/th&gt;&lt;td&gt;'
    tail = "&lt;/td&gt;&lt;/tr&gt;"
    if key == "url":  # the one link: its href and its text are the same escaped URL
        shown = [None if t is None else f'{head}&lt;a href="{t}"&gt;{t}&lt;/a&gt;{tail}'
                 for t in _escaped(texts, _BALLOON_ESCAPES)]
    else:
        shown = [None if t is None else head + t + tail for t in _escaped(texts, _BALLOON_ESCAPES)]
    # The balloon leaves out what is empty ("", {}); the ExtendedData only what is missing.
    balloon = ["" if v is None or v == "" or v == {} else row for v, row in zip(values, shown)]
    head = f'            <SimpleData name="{key}">'
    data = ["" if t is None else head + t + "</SimpleData>\n" for t in _escaped(texts, _XML_ESCAPES)]
    return balloon, data


def _placemarks(heads: list[str], props: dict[str, list], fields: tuple[str, ...], schema_id: str,
                tails: list[str]) -> list[str]:
    n = len(heads)
    missing = [None] * n
    cells = [_cells(key, props.get(key, missing)) for key in fields]
    middle = f'&lt;/table&gt;</description>\n        <ExtendedData>\n          <SchemaData schemaUrl="#{schema_id}">\n'
    columns = [heads, *(c[0] for c in cells), repeat(middle, n), *(c[1] for c in cells), tails]
    return ["".join(parts) for parts in zip(*columns)]


def _point_placemarks(points, styles: list[str]) -> list[str]:
    props = points.properties
    names = _escaped([_text(t or sid) for t, sid in zip(props.get("title", [None] * len(points)), points.ids)],
                     _XML_ESCAPES)
    when_of: dict[Any, str] = {}
    stamps = []
    for observed in props.get("observed_at", [None] * len(points)):
        stamp = when_of.get(observed)
        if stamp is None:
            when = kml_when(observed)
            stamp = when_of[observed] = (f"        <TimeStamp>\n          <when>{_xml(_text(when))}</when>\n"
                                         "        </TimeStamp>\n") if when else ""
        stamps.append(stamp)
    heads = [f"      <Placemark>\n        <name>{name}</name>\n{stamp}        <styleUrl>#{style}</styleUrl>\n"
             "        <description>&lt;table&gt;" for name, stamp, style in zip(names, stamps, styles)]
    tails = [f"          </SchemaData>\n        </ExtendedData>\n        <Point>\n"
             f"          <coordinates>{lon!r},{lat!r}</coordinates>\n        </Point>\n      </Placemark>\n"
             for lon, lat in zip(points.lon, points.lat)]
    return _placemarks(heads, props, POINT_FIELDS, POINT_SCHEMA, tails)


def _track_placemarks(tracks) -> list[str]:
    props = {key: [t.properties.get(key) for t in tracks] for key in TRACK_FIELDS}
    names = _escaped([_text(t.properties["title"]) for t in tracks], _XML_ESCAPES)
    heads = []
    for name, track in zip(names, tracks):
        begin, end = kml_when(track.begin), kml_when(track.end)
        span = "".join([f"          <begin>{_xml(_text(begin))}</begin>\n" if begin else "",
                        f"          <end>{_xml(_text(end))}</end>\n" if end else ""])
        span = f"        <TimeSpan>\n{span}        </TimeSpan>\n" if span else "        <TimeSpan/>\n"
        heads.append(f"      <Placemark>\n        <name>{name}</name>\n{span}        <styleUrl>#track</styleUrl>\n"
                     "        <description>&lt;table&gt;")
    lines = [" ".join([f"{lon!r},{lat!r}" for lon, lat in t.coordinates]) for t in tracks]
    tails = [f"          </SchemaData>\n        </ExtendedData>\n        <LineString>\n"
             f"          <tessellate>1</tessellate>\n          <coordinates>{line}</coordinates>\n"
             "        </LineString>\n      </Placemark>\n" for line in lines]
    return _placemarks(heads, props, TRACK_FIELDS, TRACK_SCHEMA, tails)


def write_kml(layers, path: str | os.PathLike) -> Path:
    """Write the layers as a ``.kml`` file; it appears only once complete."""
    path = Path(path)
    with replaced_when_done(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        out.writelines(_document(layers))
    return path
