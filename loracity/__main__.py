"""``python -m loracity`` runs the command line."""

from loracity.cli import main

main()
