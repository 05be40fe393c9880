"""vitalfile: a vital-status master file kept as an append-only, hash-chained, signed ledger.

The library is the product; the `vitalfile` command, the API and the console are thin
wrappers over these calls.
"""

from vitalfile.db import open_store
from vitalfile.errors import VitalfileError
from vitalfile.settings import Settings

__all__ = ["Settings", "VitalfileError", "__version__", "open_store"]
__version__ = "0.1.0"
