"""Energy and CO2e of a training run: codecarbon's offline tracker with France's grid.

Offline so that nothing leaves the machine (the online tracker calls geolocation and cloud
metadata addresses); nothing written to disk either: the figures go to the MLflow run.
"""

import logging
from contextlib import contextmanager


class EnergyMeter:
    """Filled when the `measure_energy` block ends: energy_kwh and co2e_kg (NaN if unmeasured)."""

    def __init__(self) -> None:
        self.energy_kwh = float("nan")
        self.co2e_kg = float("nan")
        self.method = "codecarbon OfflineEmissionsTracker (country FRA)"

    def as_metrics(self) -> dict[str, float]:
        return {"energy_kwh": self.energy_kwh, "co2e_kg": self.co2e_kg}


@contextmanager
def measure_energy(measure_power_secs: float = 5.0):
    meter = EnergyMeter()
    tracker = None
    try:
        from codecarbon import OfflineEmissionsTracker

        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        tracker = OfflineEmissionsTracker(
            country_iso_code="FRA", save_to_file=False, save_to_api=False, save_to_logger=False,
            save_to_prometheus=False, save_to_logfire=False, log_level="error",
            measure_power_secs=measure_power_secs, allow_multiple_runs=True, project_name="hardtofill")
        tracker.start()
    except Exception as error:  # energy is a report, never a reason to fail a training
        meter.method = f"not measured ({type(error).__name__})"
        tracker = None
    try:
        yield meter
    finally:
        if tracker is not None:
            try:
                emissions = tracker.stop()
                data = tracker.final_emissions_data
                meter.energy_kwh = float(data.energy_consumed) if data is not None else float("nan")
                meter.co2e_kg = float(emissions) if emissions is not None else float("nan")
            except Exception as error:
                meter.method = f"not measured ({type(error).__name__})"
