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
}

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
