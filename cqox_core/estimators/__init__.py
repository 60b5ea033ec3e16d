"""Estimators, one module per family of designs. Importing this package
registers every method."""
from __future__ import annotations

from . import regression  # noqa: F401
from . import stratification  # noqa: F401
from . import matching  # noqa: F401
from . import weighting  # noqa: F401
from . import gcomp  # noqa: F401
from . import resampling  # noqa: F401
from . import did  # noqa: F401
from . import iv  # noqa: F401
from . import synth  # noqa: F401
from . import its  # noqa: F401
from . import rd  # noqa: F401
from . import panel_matching  # noqa: F401
from . import staggered  # noqa: F401
