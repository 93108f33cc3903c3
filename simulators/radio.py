"""The radio model: path loss, which gateways hear an uplink, spreading factor, airtime.

Path loss is log-distance, ``PL(d) = PL(d0) + 10 n log10(d / d0)``, with a static shadowing
term per device-gateway link (buildings do not move) and fast fading per uplink. The
spreading factor is the smallest whose required SNR the best gateway beats by the ADR margin,
as a network server's ADR would settle on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from simulators.geo import distance_m
from simulators.scenario import Radio

BANDWIDTH_HZ = 125_000
CODING_RATE = 1  # 4/5
PREAMBLE_SYMBOLS = 8
LORAWAN_OVERHEAD = 13  # MHDR 1 + FHDR 7 (no FOpts) + FPort 1 + MIC 4
# Demodulation floor (SNR, dB) per spreading factor (Semtech SX1276 datasheet).
REQUIRED_SNR = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
SPREADING_FACTORS = (7, 8, 9, 10, 11, 12)
# EU868 default channels (Hz); the first three are mandatory, the rest what TTN configures.
EU868_CHANNELS = (
    868_100_000,
    868_300_000,
    868_500_000,
    867_100_000,
    867_300_000,
    867_500_000,
    867_700_000,
    867_900_000,
)
_FADING_LIMIT = 3.0  # fading never exceeds 3 sigma, so the ADR margin is never overrun
_TRIANGLE_SCALE = 6.0**0.5  # a triangular spread of sigma * sqrt(6) has deviation sigma
_SNR_CEILING = 13.5  # gateways do not report a higher SNR, however close the device


def airtime_s(*, payload_size: int, spreading_factor: int, bandwidth: int = BANDWIDTH_HZ) -> float:
    """Return the time on air of an uplink with ``payload_size`` application bytes.

    Semtech AN1200.13: explicit header, CRC on, coding rate 4/5, 8 preamble symbols, low data
    rate optimisation for SF11 and SF12 at 125 kHz.
    """
    phy = payload_size + LORAWAN_OVERHEAD
    sf = spreading_factor
    symbol = (1 << sf) / bandwidth
    low_rate = 1 if sf >= 11 and bandwidth == BANDWIDTH_HZ else 0
    numerator = 8 * phy - 4 * sf + 28 + 16
    symbols = 8 + max(math.ceil(numerator / (4 * (sf - 2 * low_rate))) * (CODING_RATE + 4), 0)
    return (PREAMBLE_SYMBOLS + 4.25) * symbol + symbols * symbol


def data_rate(*, spreading_factor: int) -> int:
    """Return the EU868 data rate index (DR0 = SF12 .. DR5 = SF7) at 125 kHz."""
    return 12 - spreading_factor


@dataclass(slots=True, frozen=True)
class GatewaySite:
    """What the radio model needs of a gateway."""

    index: int
    lat: float
    lon: float
    gain_dbi: float


class Link(NamedTuple):
    """A device-gateway link: the gateway's index and the mean SNR (dB) there."""

    gateway: int
    mean_snr: float


@dataclass(slots=True, frozen=True)
class Hearing:
    """One gateway's reception of one uplink."""

    gateway: int  # index into the scenario's gateways
    rssi: int  # dBm, channel RSSI as gateways report it
    snr: float  # dB, in the 0.25 dB steps of the concentrator


class RadioModel:
    """Link budgets for a scenario's gateways."""

    __slots__ = ("_gateways", "_noise_floor", "_settings")

    def __init__(self, *, settings: Radio, gateways: Sequence[GatewaySite]) -> None:
        self._settings = settings
        self._gateways = tuple(gateways)
        self._noise_floor = -174.0 + 10.0 * math.log10(BANDWIDTH_HZ) + settings.noise_figure_db

    @property
    def gateway_count(self) -> int:
        """Return how many gateways the model knows."""
        return len(self._gateways)

    @property
    def noise_floor(self) -> float:
        """Return the receiver noise floor in dBm."""
        return self._noise_floor

    def path_loss(self, *, distance: float) -> float:
        """Return the mean path loss (dB) at ``distance`` metres."""
        s = self._settings
        d = max(distance, 1.0)
        return s.reference_loss_db + 10.0 * s.path_loss_exponent * math.log10(
            d / s.reference_distance_m
        )

    def links(self, *, lat: float, lon: float, shadowing: Sequence[float]) -> list[float]:
        """Return the mean SNR (dB) at every gateway for a device at ``lat``/``lon``.

        ``shadowing`` holds the link's static shadowing (dB, one per gateway).
        """
        tx = self._settings.tx_power_dbm
        noise = self._noise_floor
        return [
            tx + g.gain_dbi - shadow - noise
            - self.path_loss(distance=distance_m(lat1=lat, lon1=lon, lat2=g.lat, lon2=g.lon))
            for g, shadow in zip(self._gateways, shadowing, strict=True)
        ]  # fmt: skip

    def draw_shadowing(self, *, rng: random.Random) -> list[float]:
        """Draw a device's static shadowing for each gateway."""
        sigma = self._settings.shadowing_db
        return [rng.gauss(0.0, sigma) for _ in self._gateways]

    def spreading_factor(self, *, best_snr: float) -> int | None:
        """Return the ADR choice for the best mean SNR; ``None`` when even SF12 is out of reach.

        SF12 is used without the full ADR margin as long as fading cannot push the best
        gateway below its demodulation floor.
        """
        margin = self._settings.adr_margin_db
        for sf in SPREADING_FACTORS:
            if best_snr - REQUIRED_SNR[sf] >= margin:
                return sf
        if best_snr - REQUIRED_SNR[12] >= _FADING_LIMIT * self._settings.fading_db:
            return 12
        return None

    def audible(self, *, mean_snr: Sequence[float], spreading_factor: int) -> list[Link]:
        """Return the links worth drawing fading for, best first (fading cannot reach the rest)."""
        floor = REQUIRED_SNR[spreading_factor] - _FADING_LIMIT * self._settings.fading_db
        links = sorted(((mean, index) for index, mean in enumerate(mean_snr)), reverse=True)
        return [
            Link(index, mean) for i, (mean, index) in enumerate(links) if i == 0 or mean >= floor
        ]

    def hear(
        self, *, links: Sequence[Link], spreading_factor: int, rng: random.Random
    ) -> list[Hearing]:
        """Return the gateways that receive one uplink; ``links`` come from :meth:`audible`.

        The best gateway (the first link) always receives it: the SF was chosen with a margin
        that bounded fading cannot overrun, so an uplink never vanishes for radio reasons.
        Loss is a fault to switch on, not an accident.
        """
        # Fast fading: a triangular draw (sum of two uniforms) with the standard deviation
        # ``sigma``; bounded at 2.45 sigma, inside the margin the spreading factor left, and
        # several times cheaper than a clipped Gaussian on the per-uplink path.
        spread = self._settings.fading_db * _TRIANGLE_SCALE
        floor = REQUIRED_SNR[spreading_factor]
        noise = self._noise_floor
        noise_power = 10.0 ** (noise / 10.0)
        heard: list[Hearing] = []
        random_ = rng.random
        best = True
        for gateway, mean in links:
            fade = (random_() + random_() - 1.0) * spread
            snr = mean + fade
            if snr < floor:
                if not best:
                    continue
                snr = floor
            best = False
            # The concentrator reports the channel power: signal plus noise.
            rssi = 10.0 * math.log10(10.0 ** ((noise + snr) / 10.0) + noise_power)
            reported = min(snr, _SNR_CEILING - 2.0 * random_())
            heard.append(
                Hearing(gateway=gateway, rssi=round(rssi), snr=round(reported * 4.0) / 4.0)
            )
        return heard

    def min_interval(self, *, airtime: float) -> float:
        """Return the shortest send interval the duty cycle allows for an uplink's airtime."""
        return airtime / self._settings.duty_cycle
