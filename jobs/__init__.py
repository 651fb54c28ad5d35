"""Entry points of the DTSEN pipeline and the plumbing they share.

Each ``jobs/<stage>.py`` owns configuration, the SparkSession and storage I/O for one
stage and delegates all DataFrame logic to a library (``linkage``, ``ranking``,
``jobs.synthetic``, ``jobs.ingestion``). Shared plumbing: ``jobs.config`` (typed
configuration), ``jobs.session`` (the one SparkSession builder), ``jobs.storage``
(Delta tables on two engines), ``jobs.delivery`` (locating delivered files).
"""
