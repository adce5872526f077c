"""KML map layers (orbat/formats/kml.py): valid KML 2.2, read back by GDAL, hostile text stays text."""

from __future__ import annotations

from lxml import etree

import _gdal
from _frames import make_frame
from orbat.formats.kml import KML_NS, kml_bytes, kml_color, kml_when, write_kml
from orbat.maplayers import EVENT_COLORS, build_map_layers

HOSTILE = 'T-72 </name><script>alert(1)</script> ]]> <![CDATA[ x ]]> & "q"'
NS = {"k": KML_NS}


def parse(data: bytes):
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def test_mali_kml_structure(mali, catalog):
    root = parse(kml_bytes(build_map_layers(mali, catalog)))
    folders = root.findall("k:Document/k:Document", NS)
    assert [f.findtext("k:name", namespaces=NS) for f in folders] == ["Convoy tracks", "Sightings"]
    points = folders[1].findall("k:Placemark", NS)
    assert len(points) == 2
    video = next(p for p in points if p.findtext("k:ExtendedData/k:SchemaData/k:SimpleData[@name='id']", namespaces=NS)
                 == "capmali-video-01")
    assert video.findtext("k:Point/k:coordinates", namespaces=NS) == "-8.120543,12.545009"
    assert video.findtext("k:TimeStamp/k:when", namespaces=NS) == "2025-01-17"
    assert video.findtext("k:styleUrl", namespaces=NS) == "#sighting-tank"
    style = root.find("k:Document/k:Style[@id='sighting-tank']", NS)
    assert style.findtext("k:IconStyle/k:color", namespaces=NS) == kml_color(EVENT_COLORS["sighting"])
    assert style.findtext("k:IconStyle/k:Icon/k:href", namespaces=NS).endswith("/shapes/target.png")
    fields = {f.get("name"): f.get("type") for f in folders[1].findall("k:Schema/k:SimpleField", NS)}
    assert fields["vehicles"] == "int" and fields["notes"] == "string"
    [track] = folders[0].findall("k:Placemark", NS)
    assert track.findtext("k:TimeSpan/k:begin", namespaces=NS) == "2025-01-17"
    assert track.findtext("k:styleUrl", namespaces=NS) == "#track"
    assert len(track.findtext("k:LineString/k:coordinates", namespaces=NS).split()) == 2


def test_read_back_by_gdal(mali, catalog, tmp_path):
    path = write_kml(build_map_layers(mali, catalog), tmp_path / "mali.kml")
    found = _gdal.layers(path)
    assert {name: info["Feature Count"] for name, info in found.items()} == {"Convoy tracks": "1", "Sightings": "2"}
    points = _gdal.features(path, "Sightings")
    assert {f["geometry"]["type"] for f in points} == {"Point"}
    video = next(f for f in points if f["properties"]["id"] == "capmali-video-01")
    assert video["geometry"]["coordinates"] == [-8.120543, 12.545009]
    assert video["properties"]["timestamp"].startswith("2025-01-17")
    assert video["properties"]["grade"] == "B2"
    seen = int(mali.loc[mali["sighting_id"] == "capmali-video-01", "count"].sum())
    assert video["properties"]["vehicles"] == seen  # a number, typed by the Schema
    [track] = _gdal.features(path, "Convoy tracks")
    assert track["geometry"]["type"] == "LineString"
    assert track["properties"]["convoy"] == "bamako-2025-01-17"
    assert "unit" not in points[0]["properties"]  # each layer has its own fields


def test_hostile_text_stays_text(catalog, tmp_path):
    frame = make_frame([{"sighting_id": "h<1>", "observed_at": "2025-01-01T10:30:00", "lat": 1.5, "lon": 2.5,
                         "place": HOSTILE, "notes": HOSTILE + "\x07bell", "actor": HOSTILE,
                         "source": 'https://x.org/"><script>', "equipment": "T-72", "count": 1}])
    data = kml_bytes(build_map_layers(frame, catalog))
    assert b"<script" not in data and b"<![CDATA[" not in data
    root = parse(data)
    assert not [el for el in root.iter() if etree.QName(el).localname in ("script", "a")]
    placemark = root.find(".//k:Placemark", NS)
    assert placemark.findtext("k:name", namespaces=NS) == HOSTILE
    assert placemark.findtext("k:ExtendedData/k:SchemaData/k:SimpleData[@name='notes']", namespaces=NS) == HOSTILE + "bell"
    assert placemark.findtext("k:TimeStamp/k:when", namespaces=NS) == "2025-01-01T10:30:00Z"
    # The balloon is HTML that Google Earth renders: the text in it is escaped once more.
    balloon = placemark.findtext("k:description", namespaces=NS)
    assert "<script>" not in balloon and "&lt;/name&gt;&lt;script&gt;" in balloon
    assert "href" not in balloon  # the source is not a plain URL, so no link
    path = tmp_path / "h.kml"
    path.write_bytes(data)
    [read] = _gdal.features(path, "Sightings")
    assert read["properties"]["notes"] == HOSTILE + "bell" and read["properties"]["Name"] == HOSTILE


def test_only_plain_http_sources_become_links(catalog):
    frame = make_frame([{"sighting_id": "u", "observed_at": "2025-01-01", "lat": 1.0, "lon": 2.0,
                         "source": "https://example.org/v?a=1&b=2", "equipment": "T-72", "count": 1}])
    balloon = parse(kml_bytes(build_map_layers(frame, catalog))).find(".//k:Placemark/k:description", NS).text
    assert '<a href="https://example.org/v?a=1&amp;b=2">' in balloon


def test_colours_and_times():
    assert kml_color("#d62728") == "ff2827d6" and kml_color("#1f4e9c", "80") == "809c4e1f"
    assert kml_when("2025-01-17") == "2025-01-17" and kml_when("2025-01-17T08:05") == "2025-01-17T08:05:00Z"
    assert kml_when(None) is None
