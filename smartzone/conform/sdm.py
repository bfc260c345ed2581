"""Attribute names of the FIWARE Smart Data Models that SmartZone's types map to (a small embedded list).

Only models whose attribute lists were checked against the published schemas are here
(github.com/smart-data-models, dataModel.Environment, dataModel.Energy, dataModel.Weather,
dataModel.Transportation); conform says "not applicable" for other entity types rather
than guess. Per-phase quantities of ThreePhaseAcMeasurement (`current`, `phaseVoltage`,
`activePower` ...) are structured values with L1/L2/L3 sub-properties in the model.
"""

from __future__ import annotations

COMMON = frozenset(
    {
        "id",
        "type",
        "name",
        "description",
        "alternateName",
        "address",
        "areaServed",
        "location",
        "dataProvider",
        "source",
        "dateCreated",
        "dateModified",
        "dateObserved",
        "owner",
        "seeAlso",
        "refDevice",
        "refPointOfInterest",
        "seq",
    }
)

MODELS: dict[str, frozenset[str]] = {
    "AirQualityObserved": frozenset(
        {
            "airQualityIndex",
            "airQualityLevel",
            "co",
            "co2",
            "no",
            "no2",
            "nox",
            "o3",
            "pm1",
            "pm10",
            "pm25",
            "so2",
            "nh3",
            "benzene",
            "temperature",
            "relativeHumidity",
            "precipitation",
            "windDirection",
            "windSpeed",
            "reliability",
            "volatileOrganicCompoundsTotal",
            "typeofLocation",
        }
    ),
    "ThreePhaseAcMeasurement": frozenset(
        {
            "activeEnergyExport",
            "activeEnergyImport",
            "activePower",
            "apparentEnergyExport",
            "apparentEnergyImport",
            "apparentPower",
            "current",
            "dateEnergyMeteringStarted",
            "displacementPowerFactor",
            "frequency",
            "phaseToPhaseVoltage",
            "phaseVoltage",
            "powerFactor",
            "reactiveEnergyExport",
            "reactiveEnergyImport",
            "reactivePower",
            "thdCurrent",
            "thdVoltage",
            "totalActiveEnergyExport",
            "totalActiveEnergyImport",
            "totalActivePower",
            "totalApparentEnergyExport",
            "totalApparentEnergyImport",
            "totalApparentPower",
            "totalDisplacementPowerFactor",
            "totalPowerFactor",
            "totalReactiveEnergyExport",
            "totalReactiveEnergyImport",
            "totalReactivePower",
        }
    ),
    "TrafficFlowObserved": frozenset(
        {
            "averageGapDistance",
            "averageHeadwayTime",
            "averageVehicleLength",
            "averageVehicleSpeed",
            "congested",
            "dateObservedFrom",
            "dateObservedTo",
            "intensity",
            "laneDirection",
            "laneId",
            "occupancy",
            "refRoadSegment",
            "reversedLane",
            "vehicleSubType",
            "vehicleType",
        }
    ),
    "WeatherObserved": frozenset(
        {
            "atmosphericPressure",
            "dewPoint",
            "feelsLikeTemperature",
            "gustSpeed",
            "illuminance",
            "precipitation",
            "pressureTendency",
            "relativeHumidity",
            "snowHeight",
            "solarRadiation",
            "streamGauge",
            "temperature",
            "uVIndexMax",
            "visibility",
            "weatherType",
            "windDirection",
            "windSpeed",
        }
    ),
}


def attributes(entity_type: str) -> frozenset[str] | None:
    """The attribute names of a Smart Data Model (with the common ones), or None if not embedded."""
    names = MODELS.get(entity_type)
    return None if names is None else names | COMMON
