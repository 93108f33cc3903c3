"""loracity's Grafana dashboards: provisioning files and dashboard JSON as package data.

``dashboards/provisioning/`` (data source and dashboard provider) and ``dashboards/json/`` are
what a Grafana mounts or ``loracity dashboards push`` uploads; :mod:`dashboards.check` validates
them and runs every panel's SQL against a database, :mod:`dashboards.push` uploads them.
"""
