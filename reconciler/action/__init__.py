"""The GitHub Action (``action.yml``): run evictl, report, comment, keep drift issues.

``action.yml`` installs evictl and runs ``python -m reconciler.action``; every input arrives as an
``INPUT_*`` environment variable, so no input is ever interpolated into a shell script.
"""
