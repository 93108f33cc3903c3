"""Device simulators: scenario files, behaviour and radio models, envelopes and publishers.

Entry points: ``simulators.loading.load_scenario``; ``simulators.generator.generate_messages``
(pure, no I/O); ``simulators.runner.run_scenario`` and ``simulators.runner.backfill_scenario``
(publish to an MQTT broker and return a ``simulators.report.SimulationReport``).
"""
