"""The project's exceptions: one base class and one subclass per kind of failure."""


class DtsenError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class BadConfigError(DtsenError):
    """A configuration file or override is invalid: unknown key, missing value, bad type."""


class BadDeliveryError(DtsenError):
    """A delivered file cannot be read as its contract says (names file, column and reason)."""


class StorageError(DtsenError):
    """A Delta table cannot be read or written as asked."""


class StorageConflictError(StorageError):
    """A write would break table semantics, e.g. an upsert whose source repeats a key."""
