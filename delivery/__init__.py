"""The data contract (``shared/contract/``) and its two producers.

* ``delivery.variables``: the welfare variable catalogue every layer names;
* ``delivery.numbers``: NIK / No_KK number cleaning as written in any source;
* ``delivery.ingestion``: source mappings and row validation (accept or quarantine);
* ``delivery.synthetic``: the synthetic generator and its settings.

The bottom layer: it imports no other project package (``dtsen.errors`` aside).
"""
