"""The stages of the DTSEN pipeline, one module each, and nothing else.

Every ``jobs/<stage>.py`` has ``run(spark, cfg, storage, **flags)``, which reads the
stage's inputs, calls the library (``ranking``, ``linkage``, ``delivery``) and writes
its outputs, and a ``main()`` that goes through ``dtsen.cli.run_stage``: flags, config,
session, storage, ``run``, the printed summary. No job imports another; nothing outside
``tests/`` imports a job.
"""
