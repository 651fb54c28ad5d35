"""Configuration profiles, source mappings and reference data, shipped with the package.

Being a package lets ``spark-submit.sh`` ship ``conf/`` inside the zip it builds, so a
driver on a cluster finds the same files through :mod:`importlib.resources`.
"""
