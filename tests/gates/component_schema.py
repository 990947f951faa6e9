"""The component package's schema (component/schema.json), as the Python SDK's analyzer infers it from the
component's type annotations, the same inference `pulumi package add` gets from the running plugin
(pulumi.provider.experimental: ComponentProvider -> analyzer.py, schema.py).

    python -m tests.gates.component_schema          # print it
    python -m tests.gates.component_schema --write  # regenerate component/schema.json

tests/test_component.py fails while the committed schema and the component disagree: a changed schema is
a reviewed diff, not an accident.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pulumi.provider.experimental.component import ComponentProvider

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "component"
SCHEMA = PACKAGE_DIR / "schema.json"


def generated() -> str:
    sys.path.insert(0, str(PACKAGE_DIR))
    try:
        from workload_binding import WorkloadBinding
        from workload_binding.binding import PACKAGE, VERSION
    finally:
        sys.path.remove(str(PACKAGE_DIR))
    schema = json.loads(ComponentProvider([WorkloadBinding], PACKAGE, version=VERSION).schema or "{}")
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        SCHEMA.write_text(generated())
    else:
        sys.stdout.write(generated())
