"""I/O adapters that are not Delta tables, all through Hadoop's FileSystem or MLflow.

* ``dtsen.io.files``: small text files next to the warehouse;
* ``dtsen.io.delivery``: a delivery's files, headers and records as Spark reads them;
* ``dtsen.io.linkage_artefacts``: the person-source mapping, the Splink model and charts;
* ``dtsen.io.pmt_registry``: MLflow experiment, registered model and champion alias;
* ``dtsen.io.pmt_figures``: the PMT run's figures.
"""
