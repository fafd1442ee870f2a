from hardtofill.telemetry import telemetry_off

telemetry_off()  # nothing leaves the machine, however this package is imported
