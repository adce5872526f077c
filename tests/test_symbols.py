"""Catalog symbol codes (``sidc``): well-formed MIL-STD-2525D / APP-6(D) codes, consistent per category.

The expected entity codes below are the table in docs/symbols.md; the codes
themselves come from the 2525D symbol-set tables (Land Equipment 15, Air 01,
Sea Surface 30) in Esri/joint-military-symbology-xml, cross-checked with
spatialillusions/milsymbol. A typo in a catalog file, or an entry coded
differently from the rest of its category without being listed here, fails.
"""

from __future__ import annotations

import pytest

from orbat.catalog import load_catalog

VERSION = "10"  # MIL-STD-2525D / APP-6(D)
IDENTITY = "01"  # context 0 (reality), standard identity 1 (unknown)
LAND_EQUIPMENT, AIR, SEA_SURFACE = "15", "01", "30"

SYMBOL_SET = {"helicopter": AIR, "aircraft": AIR, "uav": AIR, "boat": SEA_SURFACE}

# Entity + entity type + entity subtype (digits 11-16), by category.
CATEGORY_ENTITY = {
    "tank": "120200",  # Vehicle / Tank
    "ifv": "120101",  # Armored Vehicle / Armored Fighting Vehicle
    "apc": "120103",  # Armored Vehicle / Armored Personnel Carrier
    "mrap": "120105",  # Armored Vehicle / Armored Protected Vehicle
    "recon": "120111",  # Armored Vehicle / Light Armored Reconnaissance Vehicle
    "command": "120102",  # Armored Vehicle / Armored Fighting Vehicle Command and Control
    "sp-artillery": "110900",  # Weapon / Howitzer
    "towed-artillery": "110900",  # Weapon / Howitzer
    "mortar": "111400",  # Weapon / Mortar
    "mrl": "111600",  # Weapon / Multiple Rocket Launcher
    "aa-gun": "110500",  # Weapon / Air Defense Gun
    "sam": "111100",  # Weapon / Air Defense Missile Launcher
    "radar": "220300",  # Sensors / Radar
    "engineering": "130000",  # Engineer Vehicles and Equipment
    "repair": "141200",  # Utility Vehicles / Tow Truck
    "cargo-truck": "140100",  # Utility Vehicles / Utility Vehicle
    "fuel-truck": "140900",  # Utility Vehicles / Petroleum-Oil and Lubricant
    "transporter": "140600",  # Utility Vehicles / Semi-Trailer and Truck
    "ambulance": "140300",  # Utility Vehicles / Medical Evacuation
    "bus": "140500",  # Utility Vehicles / Bus
    "utility": "140100",  # Utility Vehicles / Utility Vehicle
    "helicopter": "110200",  # Air: Military / Rotary-Wing
    "aircraft": "110100",  # Air: Military / Fixed-Wing
    "uav": "110300",  # Air: Military / Unmanned Aircraft (UA/UAV/UAS/RPV)
}

# Entries deliberately coded differently from their category.
ENTRY_ENTITY = {
    "pt-76": "120201",  # Tank / Light
    "brm-1k": "120101",  # tracked (BMP-1 based): Armored Fighting Vehicle
    "generic-recon-vehicle": "120100",  # wheeled or tracked: Armored Vehicle
    # Guns and gun-mortars are not howitzers: Weapon/Weapon System.
    "2s5": "110000",
    "2s7": "110000",
    "2s7m": "110000",
    "2s9": "110000",
    "2a36": "110000",
    "m-46": "110000",
    "mt-12": "110600",  # Antitank Gun
    "bat-2": "131101",  # Dozer-Armored
    "ur-77": "130900",  # Mine Clearing Equipment
    "pmp": "130400",  # Floating Bridge
    "tmm-3": "130200",  # Bridge Mounted on Utility Vehicle
    "gmz-3": "131000",  # Mine Laying Equipment
    "zemledeliye": "131000",  # Mine Laying Equipment
    "generic-bulldozer": "131100",  # Dozer
    "generic-excavator": "130800",  # Earthmover
    "brem-1": "120300",  # Tank Recovery Vehicle
    "bts-4": "120300",  # Tank Recovery Vehicle
    "brem-k": "120108",  # Armored Personnel Carrier-Recovery
    "brem-l": "120100",  # Armored Vehicle (IFV-based ARV: no closer code)
    "generic-arv": "120100",  # Armored Vehicle
    "ket-l": "141201",  # Tow Truck / Light
    "ket-t": "141202",  # Tow Truck / Heavy
    "generic-water-truck": "141000",  # Utility Vehicles / Water
    "linza": "120107",  # Armored Protected Vehicle Medical Evacuation
    "su-27": "110104",  # Fixed-Wing / Fighter
    "su-35s": "110104",
    "mig-29": "110104",
    "su-24": "110102",  # Fixed-Wing / Attack/Strike
    "su-25": "110102",
    "a-29": "110102",
    "su-34": "110105",  # Fixed-Wing / Fighter/Bomber
    "l-39": "110112",  # Fixed-Wing / Trainer
    "il-76": "110107",  # Fixed-Wing / Cargo
    "an-124": "110107",
    "an-12": "110107",
    "an-26": "110107",
    "c295": "110107",
    # Multirotors: Vertical-Takeoff UAV.
    "fpv-quadcopter": "110400",
    "fibre-optic-fpv": "110400",
    "kvn": "110400",
    "mavic-type-quadcopter": "110400",
    "baba-yaga": "110400",
    # Sea surface: no category-wide code (generic boats, barges, pinasses have none).
    "patrol-boat": "120500",  # Military Combatant / Patrol Boat
    "raptor-03160": "120500",
    "rib": "120801",  # Speedboat / Rigid-Hull Inflatable Boat
    "landing-craft": "120308",  # Amphibious Warfare Ship / Landing Craft
    "bk-16": "120308",
    "magura-v5": "120700",  # Unmanned Surface Water Vehicle
    "sea-baby": "120700",
    "zubr-hovercraft": "120308",  # Landing Craft (air cushion)
    # Crew-served ATGM launchers (counted with towed weapons) and ATGM carriers: Antitank Missile Launcher.
    **{k: "111200" for k in ("fagot", "javelin", "kokon", "konkurs", "kornet", "metis", "nlaw", "stugna-p",
                             "9p148-konkurs", "9p149-shturm-s")},
    "bs-3": "110000", "d-44": "110000",  # field guns, not howitzers
    "2b16": "110000", "2s23": "110000", "2s34": "110000", "2s42-lotos": "110000",  # gun-mortars
    "2a29-mt-12r": "110600",  # Antitank Gun
    # Ballistic and coastal anti-ship missiles counted with rocket artillery: Surface-to-Surface Missile Launcher.
    **{k: "111300" for k in ("iskander", "tochka-u", "bal", "bastion-p", "neptune")},
    "prp-3": "120101", "m3-bradley": "120101", "brm-3k": "120101",  # tracked recon, as brm-1k
    "generic-afv": "120100",  # Armored Vehicle
    **{k: "130100" for k in ("biber", "m60-avlb", "mtu-20", "mt-55a")},  # Bridge (armoured bridge layers)
    "tmm-3m2": "130200",  # Bridge Mounted on Utility Vehicle
    "gsp-55": "131600", "pmm-2": "131600",  # Ferry Transporter
    **{k: "130902" for k in ("bmr-2", "m1150-abv", "leopard-2r")},  # Mine Clearing Equipment on Tank Chassis
    "m58-miclic": "130901",  # Mine Clearing Equipment / Trailer Mounted
    "ur-67": "130900", "ur-83p": "130900",  # Mine Clearing Equipment
    "umz": "131001",  # Mine Laying Equipment on Utility Vehicle
    "bat-m": "131100",  # Dozer
    "pzm-2": "130800", "mdk-3": "130800",  # Earthmover (trench diggers)
    **{k: "120300" for k in ("bergepanzer-2", "bergepanzer-3", "m88", "wisent")},  # Tank Recovery Vehicle
    "brem-2": "120100", "brem-d": "120100",  # IFV/APC-based recovery: Armored Vehicle, as brem-l
    "fuel-train": "150200",  # Train / Railcar
    "fv104-samaritan": "120104",  # Armored Personnel Carrier Ambulance
    "k-53949-linza": "120107",  # Armored Protected Vehicle Medical Evacuation, as linza
    "ap-2-emergency-room": "140200",  # Utility Vehicles / Medical
    **{k: "110104" for k in ("f-16", "mig-31", "mirage-2000", "su-30", "su-57")},  # Fixed-Wing / Fighter
    **{k: "110103" for k in ("tu-160", "tu-22m3", "tu-95ms")},  # Fixed-Wing / Bomber
    "a-50": "110116",  # Airborne Early Warning
    "il-22m": "110115",  # Airborne Command Post
    "be-12": "110118",  # Antisubmarine Warfare
    "yak-52": "110112",  # Trainer
    "r18-octocopter": "110400", "poseidon-h10": "110400", "weaponised-vtol": "110400",  # VT-UAV
}

# Categories the standard has no fitting symbol for: electronic warfare, motorcycles and quads, technicals,
# unmanned ground vehicles. Entries of the other categories have a code, but for these, which have none
# either (workshops, trailers, rocket reloaders, generic boats, barges and pinasses, unarmoured command
# posts and drone control stations: 2525D's command and control vehicle is an armoured one).
NO_SYMBOL_CATEGORIES = {"ew", "motorcycle", "technical", "ugv"}
NO_SYMBOL = {"generic-workshop", "mrs-ar", "mto-80", "mto-ag", "mto-at", "mto-ub1", "generic-trailer", "tzm-t",
             "9t452", "boat", "motorboat", "pinasse", "river-barge", "ks-701-tunets"}

CATALOG = load_catalog()
ENTRIES = [CATALOG.get(i) for i in CATALOG.entries]
CODED = [e for e in ENTRIES if e.sidc is not None]


def test_some_entries_have_codes():
    assert len(CODED) > 300


@pytest.mark.parametrize("entry", CODED, ids=[e.id for e in CODED])
def test_sidc_is_well_formed(entry):
    sidc = entry.sidc
    assert len(sidc) == 20 and sidc.isdigit()
    assert sidc[0:2] == VERSION
    assert sidc[2:4] == IDENTITY
    assert sidc[6:10] == "0000"  # present; no HQ/TF/dummy; no echelon/mobility
    assert sidc[16:20] == "0000"  # no sector modifiers


@pytest.mark.parametrize("entry", CODED, ids=[e.id for e in CODED])
def test_symbol_set_matches_category(entry):
    assert entry.sidc[4:6] == SYMBOL_SET.get(entry.category, LAND_EQUIPMENT)


@pytest.mark.parametrize("entry", CODED, ids=[e.id for e in CODED])
def test_entity_code_matches_category(entry):
    expected = ENTRY_ENTITY.get(entry.id, CATEGORY_ENTITY.get(entry.category))
    assert expected is not None, f"{entry.id}: no entity code is defined for category {entry.category!r}"
    assert entry.sidc[10:16] == expected


def test_every_listed_exception_is_coded():
    by_id = {e.id: e for e in ENTRIES}
    for entry_id in ENTRY_ENTITY:
        assert entry_id in by_id, f"{entry_id} is not in the catalog"
        assert by_id[entry_id].sidc is not None, f"{entry_id} has no sidc"


def test_every_entry_with_a_fitting_symbol_has_one():
    """A new catalog entry without a sidc fails here, unless the standard has nothing that fits it."""
    missing = [e.id for e in ENTRIES if e.sidc is None and e.category not in NO_SYMBOL_CATEGORIES
               and e.id not in NO_SYMBOL and not (e.category == "command" and not e.armoured)]
    assert missing == []


def test_no_symbol_is_given_where_the_standard_has_none():
    by_id = {e.id: e for e in ENTRIES}
    assert all(by_id[i].sidc is None for i in NO_SYMBOL)
    assert all(e.sidc is None for e in ENTRIES if e.category in NO_SYMBOL_CATEGORIES)
    assert all(e.sidc is None or e.sidc[10:16] != "120102" for e in ENTRIES if not e.armoured)
