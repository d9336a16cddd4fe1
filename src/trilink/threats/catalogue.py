"""Missile catalogue built from public figures.

**Read this first.** No government or analyst has published stage-level data
(stage masses, specific impulse, burn times, RV ballistic coefficients) for any
North Korean missile; see ``docs/sources/missiles.md`` for what the public record
does hold, with sources. Every entry below is therefore *our estimate*, built
this way and labelled so:

1. **Published facts are kept**: stage count and propellant type (ROK MND / JCS,
   Japan MoD, DPRK claims accepted by both), diameters and lengths where analysts
   published them (38 North for Hwasong-17, Ukrainian MoD wreckage measurements
   for KN-23), launch-mass ranges (38 North: Hwasong-17 80–110 t), engine counts
   (Hwasong-15 two first-stage engines, Hwasong-17 four nozzles).
2. **Typical engineering values fill the gaps**: specific impulse of storable
   UDMH/N2O4 engines (≈300 s vacuum) and of composite solid motors (≈265–290 s
   vacuum), lift-off thrust-to-weight 1.5–2.3, burn times of 60–90 s per solid
   ICBM stage and 120–230 s per liquid stage.
3. **Mass and payload are calibrated** to the published *range* statements only
   (never to flight times): Hwasong-12 ≈ 4,500–5,000 km and its 4,600 km flight
   of 2022-10-04; Hwasong-14 ≈ 10,000 km (Wright, 38 North); Hwasong-15 > 13,000 km
   (ROK MND) and ≈ 14,000 km (Japan MoD, 2023); Hwasong-17 > 15,000 km (Japan MoD);
   Hwasong-18 ≈ 15,000 km (press); Hwasong-19 > 15,000 km (press); KN-23 ≈ 690 km
   flown (ROK JCS, 2019-07-25) and "up to 800 km" (press).

The published-flight checks (apogee, range, flight time of each public launch)
are in ``tests/test_threats_published_launches.py``; the range checks in
``tests/test_threats_catalogue.py``.
"""

from __future__ import annotations

from trilink.geo.constants import STANDARD_GRAVITY_MPS2
from trilink.threats.vehicle import Missile, ReentryVehicle, Stage

_EST = "our estimate (no published stage data; see docs/sources/missiles.md)"

TONNE_FORCE_N = 1_000.0 * STANDARD_GRAVITY_MPS2
"""One tonne-force (the unit of DPRK thrust claims), N."""


def _burn_time_s(propellant_mass_kg: float, isp_sl_s: float, thrust_sl_n: float) -> float:
    """Burn time of a stage whose sea-level thrust is known: t = m_p·g0·Isp_sl / F_sl."""
    return propellant_mass_kg * STANDARD_GRAVITY_MPS2 * isp_sl_s / thrust_sl_n


KN_23 = Missile(
    key="kn-23",
    name="KN-23 (Hwasong-11A) SRBM",
    propellant="solid",
    stages=(
        Stage(
            propellant_mass_kg=3_500.0,
            dry_mass_kg=650.0,
            burn_time_s=30.0,
            isp_vac_s=265.0,
            isp_sl_s=240.0,
            diameter_m=1.1,
            length_m=7.5,
            drag_coefficient=0.25,
        ),
    ),
    rv=ReentryVehicle(
        mass_kg=410.0,
        ballistic_coefficient_kgpm2=6_500.0,
        length_m=7.5,
        base_diameter_m=1.1,
        lift_to_drag=1.5,
        pullup_alt_m=45_000.0,
    ),
    rv_separates=False,
    vertical_rise_s=4.0,
    pitch_ramp_end_s=15.0,
    sources=(
        "single-stage solid, Iskander-like: KIDA via Yonhap 2021-04-01; Defence Blog",
        "lower body diameter ~110 cm (Ukrainian MoD wreckage analysis, via Kyodo/Yonhap)",
        "Iskander-M launch mass ~3,800 kg, warhead 480–700 kg (press; Infobae 2016, Xinhua 2018)",
        "pull-up in the terminal phase, descending at 40–48 km (Kim Se-il, DTaQ, via UPI 2021)",
        "flights: 690 km / ~50 km apogee 2019-07-25 (ROK JCS); 'up to 800 km' (press)",
    ),
    estimates=(
        "propellant/dry mass, burn time, Isp, β and L/D: " + _EST,
        "the whole body reenters with its warhead (no RV separation), like Iskander",
    ),
)

HWASONG_12 = Missile(
    key="hwasong-12",
    name="Hwasong-12 (KN-17) IRBM",
    propellant="liquid",
    stages=(
        Stage(
            propellant_mass_kg=23_000.0,
            dry_mass_kg=1_800.0,
            # 80 tf at sea level: the 'Paektusan' engine claim (KCNA 2016; MBN).
            burn_time_s=_burn_time_s(23_000.0, 275.0, 80.0 * TONNE_FORCE_N),
            isp_vac_s=305.0,
            isp_sl_s=275.0,
            diameter_m=1.65,
            length_m=15.5,
            drag_coefficient=0.25,
        ),
    ),
    rv=ReentryVehicle(
        mass_kg=840.0, ballistic_coefficient_kgpm2=4_000.0, length_m=2.0, base_diameter_m=1.2
    ),
    sources=(
        "single stage, liquid; one main engine + 4 verniers (ROK MND via MBN; Yonhap)",
        "'Paektusan' engine, 80 tf claimed (KCNA 2016; Schilling, 38 North)",
        "range ~4,500 km (Wright/UCS; CSIS); flights 3,700 km (2017-09-15), 4,600 km (2022-10-04)",
    ),
    estimates=("all masses, burn time, Isp, dimensions and RV β: " + _EST,),
)

HWASONG_14 = Missile(
    key="hwasong-14",
    name="Hwasong-14 (KN-20) ICBM",
    propellant="liquid",
    stages=(
        Stage(
            propellant_mass_kg=23_000.0,
            dry_mass_kg=1_800.0,
            # 80 tf at sea level: the 'Paektusan' engine claim (KCNA 2016; MBN).
            burn_time_s=_burn_time_s(23_000.0, 275.0, 80.0 * TONNE_FORCE_N),
            isp_vac_s=305.0,
            isp_sl_s=275.0,
            diameter_m=1.65,
            length_m=15.5,
            drag_coefficient=0.25,
        ),
        Stage(
            propellant_mass_kg=3_300.0,
            dry_mass_kg=600.0,
            burn_time_s=150.0,
            isp_vac_s=305.0,
            isp_sl_s=240.0,
            diameter_m=1.25,
            length_m=3.5,
        ),
    ),
    rv=ReentryVehicle(
        mass_kg=725.0, ballistic_coefficient_kgpm2=4_000.0, length_m=1.8, base_diameter_m=1.0
    ),
    sources=(
        "2 stages, liquid; stage 1 a modified Hwasong-12 (ROK MND; Elleman, IISS)",
        "range ≥ 10,400 km (Wright, UCS) / 9,000–10,000 km (38 North); ~500 kg payload (press)",
    ),
    estimates=("all masses, burn times, Isp, dimensions and RV β: " + _EST,),
)

HWASONG_15 = Missile(
    key="hwasong-15",
    name="Hwasong-15 (KN-22) ICBM",
    propellant="liquid",
    stages=(
        Stage(
            propellant_mass_kg=46_000.0,
            dry_mass_kg=4_000.0,
            # Two 80 tf engines (Wright: two engines; KCNA: 80 tf each).
            burn_time_s=_burn_time_s(46_000.0, 270.0, 160.0 * TONNE_FORCE_N),
            isp_vac_s=300.0,
            isp_sl_s=270.0,
            diameter_m=2.0,
            length_m=15.0,
            drag_coefficient=0.25,
        ),
        Stage(
            propellant_mass_kg=9_500.0,
            dry_mass_kg=1_300.0,
            burn_time_s=200.0,
            isp_vac_s=315.0,
            isp_sl_s=245.0,
            diameter_m=2.0,
            length_m=4.5,
        ),
    ),
    rv=ReentryVehicle(
        mass_kg=1_340.0, ballistic_coefficient_kgpm2=5_000.0, length_m=2.2, base_diameter_m=1.3
    ),
    sources=(
        "2 stages, liquid (ROK MND 2017-12-01); stage 1 two engines, Hwasong-14 case (Wright)",
        "length ~21 m, diameter ~2 m (public_reference.md §5: Arirang 2022-03-25)",
        "range > 13,000 km (ROK MND; Wright, UCS); ~14,000 km (Japan MoD, 2023-02-18)",
        "1,000 kg to anywhere in the US (Elleman, via Korea Herald 2017-12-01)",
    ),
    estimates=("stage masses, burn times, Isp and RV β: " + _EST,),
)

HWASONG_17 = Missile(
    key="hwasong-17",
    name="Hwasong-17 ICBM",
    propellant="liquid",
    stages=(
        Stage(
            propellant_mass_kg=78_000.0,
            dry_mass_kg=6_500.0,
            # Four nozzles (ROK/US); thrust not published: 210 tf assumed (lift-off T/W 2.1).
            burn_time_s=_burn_time_s(78_000.0, 270.0, 210.0 * TONNE_FORCE_N),
            isp_vac_s=300.0,
            isp_sl_s=270.0,
            diameter_m=2.5,
            length_m=17.5,
            drag_coefficient=0.25,
        ),
        Stage(
            propellant_mass_kg=15_000.0,
            dry_mass_kg=2_000.0,
            burn_time_s=230.0,
            isp_vac_s=318.0,
            isp_sl_s=245.0,
            diameter_m=2.5,
            length_m=5.5,
        ),
    ),
    rv=ReentryVehicle(
        mass_kg=2_235.0, ballistic_coefficient_kgpm2=5_000.0, length_m=2.5, base_diameter_m=1.5
    ),
    sources=(
        "2 stages, liquid; four first-stage nozzles (ROK/US via Yonhap 2022-03-27)",
        "2.4–2.5 m diameter, 24–26 m long, 80–110 t fuelled (38 North, via Reuters/ABC)",
        "range > 15,000 km depending on warhead (Japan MoD, 2022-11-18)",
    ),
    estimates=("stage masses within 38 North's 80–110 t; burn times, Isp, RV β: " + _EST,),
)

HWASONG_18 = Missile(
    key="hwasong-18",
    name="Hwasong-18 ICBM",
    propellant="solid",
    stages=(
        Stage(
            propellant_mass_kg=32_000.0,
            dry_mass_kg=3_200.0,
            # The 140 tf solid motor tested 2022-12-15 (KCNA), linked by analysts.
            burn_time_s=_burn_time_s(32_000.0, 245.0, 140.0 * TONNE_FORCE_N),
            isp_vac_s=270.0,
            isp_sl_s=245.0,
            diameter_m=2.0,
            length_m=11.0,
            drag_coefficient=0.25,
        ),
        Stage(
            propellant_mass_kg=12_000.0,
            dry_mass_kg=1_300.0,
            burn_time_s=70.0,
            isp_vac_s=285.0,
            isp_sl_s=250.0,
            diameter_m=1.8,
            length_m=6.0,
        ),
        Stage(
            propellant_mass_kg=4_000.0,
            dry_mass_kg=500.0,
            burn_time_s=55.0,
            isp_vac_s=290.0,
            isp_sl_s=245.0,
            diameter_m=1.5,
            length_m=3.0,
        ),
    ),
    rv=ReentryVehicle(
        mass_kg=1_275.0, ballistic_coefficient_kgpm2=5_000.0, length_m=2.0, base_diameter_m=1.2
    ),
    vertical_rise_s=6.0,
    sources=(
        "3 stages, solid (KCNA 2023-04-14 via Xinhua; accepted by ROK, Japan MoD 2023-04-21)",
        "stage 1 standard trajectory, stages 2-3 high-angle (KCNA); 9-axle TEL (Shephard)",
        "possible stage-1 motor: 140 tf solid motor tested 2022-12-15 (KCNA; analysts)",
        "range 'believed' up to 15,000 km (EFE 2023-12-19)",
    ),
    estimates=("stage masses, burn times, Isp, dimensions and RV β: " + _EST,),
)

HWASONG_19 = Missile(
    key="hwasong-19",
    name="Hwasong-19 ICBM",
    propellant="solid",
    stages=(
        Stage(
            propellant_mass_kg=48_000.0,
            dry_mass_kg=4_800.0,
            # The 1,960 kN carbon-fibre motor claimed for the 'Hwasong-19 series' (KCNA 2025).
            burn_time_s=_burn_time_s(48_000.0, 247.0, 1_960e3),
            isp_vac_s=272.0,
            isp_sl_s=247.0,
            diameter_m=2.3,
            length_m=13.0,
            drag_coefficient=0.25,
        ),
        Stage(
            propellant_mass_kg=18_000.0,
            dry_mass_kg=1_900.0,
            burn_time_s=80.0,
            isp_vac_s=287.0,
            isp_sl_s=252.0,
            diameter_m=2.0,
            length_m=7.0,
        ),
        Stage(
            propellant_mass_kg=5_500.0,
            dry_mass_kg=700.0,
            burn_time_s=65.0,
            isp_vac_s=292.0,
            isp_sl_s=247.0,
            diameter_m=1.6,
            length_m=3.5,
        ),
    ),
    rv=ReentryVehicle(
        mass_kg=1_945.0, ballistic_coefficient_kgpm2=5_000.0, length_m=2.2, base_diameter_m=1.3
    ),
    vertical_rise_s=6.0,
    sources=(
        "solid propellant (ROK JCS 2024-10-31); larger than Hwasong-18 (ROK DIA); ≥ 28 m (Chang)",
        "1,960 kN carbon-fibre motor for the 'Hwasong-19 series' (KCNA 2025; a DPRK claim)",
        "range > 15,000 km (press)",
    ),
    estimates=("three stages (count not published), all masses, burn times, Isp, RV β: " + _EST,),
)

MISSILES: dict[str, Missile] = {
    m.key: m
    for m in (KN_23, HWASONG_12, HWASONG_14, HWASONG_15, HWASONG_17, HWASONG_18, HWASONG_19)
}
"""The catalogue, by command-line key."""


def get_missile(key: str) -> Missile:
    """The missile named ``key`` (case-insensitive), or a ``KeyError`` listing the known ones."""
    k = key.strip().lower()
    if k not in MISSILES:
        raise KeyError(f"unknown missile {key!r}; known: {', '.join(sorted(MISSILES))}")
    return MISSILES[k]
