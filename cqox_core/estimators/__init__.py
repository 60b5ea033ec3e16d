"""Estimators, one module per family of designs. Importing this package
registers every method."""
from __future__ import annotations

from . import regression  # noqa: F401
from . import stratification  # noqa: F401
from . import matching  # noqa: F401
from . import weighting  # noqa: F401
from . import gcomp  # noqa: F401
from . import resampling  # noqa: F401
