"""hardtofill: flags job offers likely to take more than 30 days to fill.

The domain packages (features, training, serving, monitoring) sit beside this one; this
package holds what they share: settings, parameters, telemetry switches and the CLI.
"""

from hardtofill.telemetry import telemetry_off

telemetry_off()  # nothing leaves the machine, however the project is imported
