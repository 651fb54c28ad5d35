"""Synthetic national-style deliveries, written exactly per the contract.

The first period (``shared/contract/inputs.md``): ``assemble.population`` and
``tables``. The next quarter's update delivery (``shared/contract/updates.md``):
``update_tables.derive`` (the events of ``quarter``, the records of ``update_records``)
and ``update_tables``' builders.
"""
