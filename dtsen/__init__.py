"""The platform under the stages: configuration, the SparkSession, storage and I/O.

Modules, imported by name (this package imports nothing, so ``dtsen.errors`` stays a
leaf every layer may raise from):

* ``dtsen.config``: the typed profile (``load_config``, ``Config``);
* ``dtsen.session``: the one SparkSession builder;
* ``dtsen.cli``: the flags every job takes and the one ``main`` path (``run_stage``);
* ``dtsen.errors``: the project's exceptions;
* ``dtsen.storage``: Delta tables on two engines, and ingested batches (``bronze``);
* ``dtsen.io``: files through Hadoop's FileSystem: deliveries, linkage artefacts,
  the MLflow registry and its figures.
"""
