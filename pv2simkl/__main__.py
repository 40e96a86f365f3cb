"""``python -m pv2simkl`` runs the command line."""

from pv2simkl.cli import main

main()
