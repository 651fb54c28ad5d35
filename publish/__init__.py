"""What DTSEN hands out: the Cek DTSEN lookup, the data-balikan exports and the run
report. Pure transformations of the gold tables into what a citizen, an institution or
a program manager may see; the jobs (``jobs/cek.py``, ``jobs/export.py``,
``jobs/report.py``) read and write them."""
