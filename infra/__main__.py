"""AKS + Microsoft Entra Workload ID -> Key Vault, in one `pulumi up`.

Reads the stack configuration once (and fails before declaring anything if it is
invalid), composes the components and exports what a user needs to check the result.
"""

from pathlib import Path

import pulumi
import pulumi_random as random
from pulumi_azure_native import authorization, resources

from workload_id import WorkloadBinding, adopt, binding_aliases, history, naming
from workload_id.cluster import AksCluster
from workload_id.config import load_config
from workload_id.csi import SecretProviderClass
from workload_id.existing import read_existing
from workload_id.image import AppImage
from workload_id.namespace import AppNamespace
from workload_id.placement import Placement
from workload_id.registry import ContainerRegistry
from workload_id.secret_store import SecretStore
from workload_id.workload import PART_OF, DeniedRead, JobSettings, SecretRead, Workload, instance_labels
from workload_id.workloads_config import WorkloadSpec, denied_secret, isolation_summary

config = load_config()
project, stack = pulumi.get_project(), pulumi.get_stack()
tags = {"project": project, "stack": stack, "managed-by": "pulumi"}
# Each existing resource is read, and refused if unusable, before anything is declared.
existing = read_existing(config, tags)
adopt.register(adopt.requested(stack))
binding_aliases.register(
    {
        key: urns
        for index, spec in enumerate(config.workloads)
        for key, urns in binding_aliases.earlier_urns(stack, project, spec.name, spec.secrets, first=index == 0).items()
    }
)
client = authorization.get_client_config()

last_outputs = history.last_outputs()
secret_history = history.SecretHistory.from_outputs(last_outputs).in_vault(
    lambda suffix: (
        config.existing_key_vault.name
        if config.existing_key_vault
        else naming.key_vault_name(config.name_prefix, stack, suffix)
    )
)
# The one workload of the shorthand config named its identity `...-workload`; moved to the `workloads` list
# under the same name, it keeps that identity (and its client id) instead of getting a new one.
SHORTHAND_IDENTITY = naming.identity_name(config.name_prefix, stack, "workload")
kept_shorthand_identity = {
    workload for workload, name in history.identity_names(last_outputs).items() if name == SHORTHAND_IDENTITY
}

resource_group_name = naming.resource_group_name(config.name_prefix, stack)
group = resources.ResourceGroup(
    "resource-group",
    resource_group_name=resource_group_name,
    location=config.location,
    tags=tags,
)
placement = Placement(resource_group_name=group.name, location=config.location, tags=tags)

# One random suffix makes the globally unique names (vault, registry) fresh per stack, so a
# destroy -> up never collides with a soft-deleted vault of the same name.
suffix = random.RandomString("name-suffix", length=6, special=False, upper=False)

registry = ContainerRegistry(
    "registry",
    placement=placement,
    registry_name=suffix.result.apply(lambda s: naming.registry_name(config.name_prefix, stack, s)),
    sku=config.acr_sku,
    existing=existing.registry,
)
image = AppImage(
    "app-image",
    builder=config.image_builder,
    context_dir=Path(__file__).resolve().parent.parent / "app",
    registry=registry,
    subscription_id=client.subscription_id,
)
cluster = AksCluster(
    "cluster",
    placement=placement,
    config=config,
    cluster_name=naming.cluster_name(config.name_prefix, stack),
    tenant_id=client.tenant_id,
    subscription_id=client.subscription_id,
    registry_id=registry.id,
    existing=existing.cluster,
)
store = SecretStore(
    "secret-store",
    placement=placement,
    config=config,
    vault_name=suffix.result.apply(lambda s: naming.key_vault_name(config.name_prefix, stack, s)),
    tenant_id=client.tenant_id,
    # With the vault firewall closed, the Job's pods still need in: allow the cluster's egress IPs.
    allowed_ips=cluster.egress_ips() if config.closes_vault_firewall else [],
    adopt=existing.kept_secrets
    | secret_history.adoptions(
        config.written_secret_names,
        client.subscription_id,
        config.existing_key_vault.resource_group if config.existing_key_vault else resource_group_name,
    ),
    existing_vault=existing.vault,
    referenced=existing.referenced_secrets,
)
# Every distinct namespace a managed namespace, with the deployer's role on it; the first one takes over
# the namespace of a stack that had one workload.
namespaces = {
    ns: AppNamespace(
        f"namespace-{ns}",
        placement=placement,
        cluster=cluster,
        namespace=ns,
        # The people and CI identities that run up or preview (deployerObjectIds), else whoever runs this one.
        deployer_object_ids=list(config.deployer_object_ids) or [client.object_id],
        subscription_id=client.subscription_id,
        custom_resources=any(w.reads_with_csi for w in config.workloads if w.namespace == ns),
        takes_over=index == 0,
    )
    for index, ns in enumerate(config.namespaces)
}
jobs = JobSettings(image=image.ref, vault_uri=store.vault_uri, retry_budget_seconds=config.app_retry_budget_seconds)


def secret_read(secret: str) -> SecretRead:
    """What a Job needs to read one configured secret and recognise its value."""
    stored = store.secrets[secret]
    return SecretRead(name=stored.name, fingerprint=stored.value_fingerprint, salt=stored.fingerprint_salt)


def declare_workload(spec: WorkloadSpec, takes_over: bool) -> Workload:
    """One workload's binding, class (when it reads files) and Workload; with `takes_over`, these take over
    the identity, credential, grant and class of a stack that had one workload."""
    namespace = namespaces[spec.namespace]
    binding = WorkloadBinding(
        spec.name,
        {
            "resource_group_name": group.name,
            "location": config.location,
            "identity_name": SHORTHAND_IDENTITY
            if spec.name in kept_shorthand_identity
            else naming.identity_name(config.name_prefix, stack, spec.identity_suffix),
            "oidc_issuer_url": cluster.oidc_issuer_url,
            "namespace": spec.namespace,
            "service_account_name": spec.service_account,
            # The vault's id once each secret it scopes exists: the grants wait for their secrets.
            "key_vault_id": pulumi.Output.all(store.vault_id, *[store.secrets[s].id for s in spec.secrets]).apply(
                lambda ids: ids[0]
            ),
            "secret_names": list(spec.secrets),
            "tags": placement.tags,
            "service_account_labels": instance_labels(spec.name),
        },
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": namespace.provider},
            # It takes the place of the component that held the identity and its grants before.
            aliases=binding_aliases.earlier_components(spec.name, first=takes_over),
        ),
    )
    secret_provider_class = (
        SecretProviderClass(
            f"{spec.name}-secret-provider-class",
            workload=spec.name,
            namespace=spec.namespace,
            client_id=binding.client_id,
            tenant_id=client.tenant_id,
            vault_name=store.vault_name,
            secret_names=pulumi.Output.all(*[store.secrets[secret].name for secret in spec.secrets]),
            kubeconfig=cluster.kubeconfig,
            cluster_name=cluster.name,
            resource_group_name=cluster.resource_group_name,
            # The cluster's create or update enables the add-on; the deployer's role lets it write the class.
            wait_after=[*cluster.changes, *namespace.ready],
            access_changes=[role.id for role in namespace.deployer_roles],
            provider=namespace.provider,
            takes_over=takes_over,
        )
        if spec.reads_with_csi
        else None
    )
    denied = denied_secret(spec, config.secrets)
    return Workload(
        spec.name,
        namespace=spec.namespace,
        service_account_name=spec.service_account,
        binding=binding,
        reads={secret: secret_read(secret) for secret in spec.secrets},
        jobs=jobs,
        job_prerequisites=[
            *binding.grants.values(),
            *([cluster.kubelet_acr_pull] if cluster.kubelet_acr_pull else []),
            *(secret for secret in (store.secrets[name].secret for name in spec.secrets) if secret is not None),
            image.build,
        ],
        provider=namespace.provider,
        sdk=spec.reads_with_sdk,
        csi=secret_provider_class,
        # Where the vault holds a secret this workload was not granted, prove at up that it is refused it.
        denied=DeniedRead(
            name=store.secrets[denied].name,
            owners=tuple(w.name for w in config.workloads if denied in w.secrets),
            exists=store.secrets[denied].secret,
        )
        if denied is not None
        else None,
        takes_over=takes_over,
    )


workloads = {spec.name: declare_workload(spec, takes_over=index == 0) for index, spec in enumerate(config.workloads)}

pulumi.export("resourceGroupName", group.name)
pulumi.export("clusterName", cluster.name)
pulumi.export("clusterResourceGroupName", cluster.resource_group_name)
pulumi.export("oidcIssuerUrl", cluster.oidc_issuer_url)
pulumi.export("keyVaultUri", store.vault_uri)
# The secrets the stack writes (its history counts only these), and those it only reads (existing: true).
pulumi.export("secretNames", config.written_secret_names)
pulumi.export("existingSecretNames", config.existing_secret_names)
pulumi.export(history.RETIRED_SECRETS, secret_history.retired_after(config.written_secret_names))
pulumi.export("registryName", registry.name)
pulumi.export("image", image.ref)
# Per workload: the identity its pods become, where they run and the Jobs that proved its reads.
pulumi.export(
    "workloads",
    {
        spec.name: {
            "identityName": workloads[spec.name].binding.identity.name,
            "clientId": workloads[spec.name].binding.client_id,
            "namespace": spec.namespace,
            "serviceAccount": spec.service_account,
            "secrets": list(spec.secrets),
            "jobNames": workloads[spec.name].job_names,
            "isolation": isolation_summary(spec, config.secrets),
        }
        for spec in config.workloads
    },
)
pulumi.export(
    "getCredentialsCommand",
    pulumi.Output.format(
        "az aks get-credentials --subscription {0} --resource-group {1} --name {2}"
        " && kubelogin convert-kubeconfig -l azurecli",
        client.subscription_id,
        cluster.resource_group_name,
        cluster.name,
    ),
)
pulumi.export(
    "jobLogsCommand",
    # Every Job's pods in every namespace, each line prefixed with its pod.
    # --tail=-1: with a selector kubectl shows only 10 lines per pod, and a failure's retries need more.
    " && ".join(
        f"kubectl logs --namespace {ns} --selector app.kubernetes.io/part-of={PART_OF} --prefix --tail=-1"
        for ns in config.namespaces
    ),
)
pulumi.export("kubeconfig", cluster.kubeconfig)
