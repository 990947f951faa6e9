"""The plugin's entry point: `pulumi package add` (and every `up` of a program that uses the package) runs
this file with the language host named in PulumiPlugin.yaml; it serves the component over gRPC and
answers the schema inferred from its type annotations."""

from pulumi.provider.experimental import component_provider_host
from workload_binding import WorkloadBinding
from workload_binding.binding import PACKAGE, VERSION

if __name__ == "__main__":
    component_provider_host([WorkloadBinding], name=PACKAGE, version=VERSION)
