"""The units SmartZone uses, with their UCUM and UN/CEFACT (NGSI-LD `unitCode`) codes.

NGSI-LD carries units as UN/CEFACT common codes (Recommendation 20); SenML and most APIs use
UCUM-like symbols. A device type writes the symbol in `unit` and the UN/CEFACT code in
`unit_code`; conform checks both against this table (docs/owners.md lists it).
"""

from __future__ import annotations

from typing import NamedTuple


class Unit(NamedTuple):
    ucum: str
    uncefact: str
    name: str


UNITS: dict[str, Unit] = {
    "%": Unit("%", "P1", "percent"),
    "A": Unit("A", "AMP", "ampere"),
    "mA": Unit("mA", "4K", "milliampere"),
    "V": Unit("V", "VLT", "volt"),
    "mV": Unit("mV", "2Z", "millivolt"),
    "W": Unit("W", "WTT", "watt"),
    "kW": Unit("kW", "KWT", "kilowatt"),
    "Wh": Unit("W.h", "WHR", "watt hour"),
    "kWh": Unit("kW.h", "KWH", "kilowatt hour"),
    "MWh": Unit("MW.h", "MWH", "megawatt hour"),
    "Hz": Unit("Hz", "HTZ", "hertz"),
    "degC": Unit("Cel", "CEL", "degree Celsius"),
    "K": Unit("K", "KEL", "kelvin"),
    "deg": Unit("deg", "DD", "degree (angle)"),
    "bar": Unit("bar", "BAR", "bar"),
    "hPa": Unit("hPa", "A97", "hectopascal"),
    "kPa": Unit("kPa", "KPA", "kilopascal"),
    "Pa": Unit("Pa", "PAL", "pascal"),
    "m": Unit("m", "MTR", "metre"),
    "cm": Unit("cm", "CMT", "centimetre"),
    "mm": Unit("mm", "MMT", "millimetre"),
    "m/s": Unit("m/s", "MTS", "metre per second"),
    "km/h": Unit("km/h", "KMH", "kilometre per hour"),
    "mm/h": Unit("mm/h", "H67", "millimetre per hour"),
    "m3": Unit("m3", "MTQ", "cubic metre"),
    "l": Unit("L", "LTR", "litre"),
    "l/s": Unit("L/s", "G51", "litre per second"),
    "l/min": Unit("L/min", "L2", "litre per minute"),
    "m3/h": Unit("m3/h", "MQH", "cubic metre per hour"),
    "ug/m3": Unit("ug/m3", "GQ", "microgram per cubic metre"),
    "mg/m3": Unit("mg/m3", "GP", "milligram per cubic metre"),
    "ppm": Unit("[ppm]", "59", "part per million"),
    "W/m2": Unit("W/m2", "D54", "watt per square metre"),
    "lx": Unit("lx", "LUX", "lux"),
    "dB(A)": Unit("dB", "2N", "decibel (A-weighted)"),
    "dB": Unit("dB", "2N", "decibel"),
    "s": Unit("s", "SEC", "second"),
    "min": Unit("min", "MIN", "minute"),
    "h": Unit("h", "HUR", "hour"),
    "kg": Unit("kg", "KGM", "kilogram"),
    "veh": Unit("{vehicle}", "E08", "vehicles (count per reporting interval)"),
}


def lookup(unit: str) -> Unit | None:
    """The table entry of a unit symbol as authored, or None when SmartZone does not know it."""
    return UNITS.get(unit)
