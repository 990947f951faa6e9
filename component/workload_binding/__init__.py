"""The Workload ID -> Key Vault binding of one workload, as a Pulumi component any program can use."""

from .binding import WorkloadBinding, WorkloadBindingArgs

__all__ = ["WorkloadBinding", "WorkloadBindingArgs"]
