"""LoRa time on air (Semtech formula) and the regional duty-cycle gate.

Time on air after Semtech AN1200.13 "LoRa Modem Designer's Guide" / SX1276 datasheet 4.1.1.6:
T_sym = 2^SF / BW; T_preamble = (n_preamble + 4.25) T_sym;
n_payload = 8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) (CR + 4), 0).
Low-data-rate optimisation (DE) is on for SF11/SF12 at 125 kHz, as LoRaWAN mandates.
EU868 (ETSI EN 300 220, LoRaWAN RP002): 1 % duty cycle on the default channels, so after a
transmission of T seconds the radio stays silent for T (1/dc - 1).
"""

from __future__ import annotations

import math


def time_on_air(
    payload_bytes: int,
    sf: int,
    bw_khz: int = 125,
    cr: int = 1,
    preamble: int = 8,
    explicit_header: bool = True,
    crc: bool = True,
    low_dr_optimize: bool | None = None,
) -> float:
    """Seconds a LoRa frame of *payload_bytes* (PHY payload) occupies the channel."""
    if low_dr_optimize is None:
        low_dr_optimize = bw_khz == 125 and sf >= 11
    t_sym = (2**sf) / (bw_khz * 1000.0)
    t_preamble = (preamble + 4.25) * t_sym
    de = 1 if low_dr_optimize else 0
    ih = 0 if explicit_header else 1
    numerator = 8 * payload_bytes - 4 * sf + 28 + 16 * (1 if crc else 0) - 20 * ih
    n_payload = 8 + max(math.ceil(numerator / (4 * (sf - 2 * de))) * (cr + 4), 0)
    return t_preamble + n_payload * t_sym


class DutyCycleGate:
    """Tracks when a transmitter may next send under a duty-cycle limit."""

    __slots__ = ("next_allowed",)

    def __init__(self) -> None:
        self.next_allowed = 0.0

    def clear(self, t: float) -> bool:
        return t >= self.next_allowed
