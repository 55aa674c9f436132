"""``python -m reconciler`` runs the ``evictl`` command line."""

from reconciler.cli import main

main()
