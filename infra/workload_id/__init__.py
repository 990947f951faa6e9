"""The program's own modules, and the workload binding it declares its workloads with.

The binding is the component package beside the program (component/), which other programs install with
pip or `pulumi package add`; this program imports it from there, as it is.
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "component"))

from workload_binding import WorkloadBinding

__all__ = ["WorkloadBinding"]
