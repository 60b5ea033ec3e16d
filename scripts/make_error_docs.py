"""Write docs/ERRORS.md from cqox_core.errors.CATALOGUE (tests/test_error_catalogue.py checks it is in step)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cqox_core.errors import catalogue_markdown  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    target = ROOT / "docs" / "ERRORS.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(catalogue_markdown())
    print(f"wrote {target.relative_to(ROOT)}")
