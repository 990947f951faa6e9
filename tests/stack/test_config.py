"""Config is read once, validated before anything is declared, and errors name the key and the fix."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
import yaml

from tests.stack.harness import PROJECT, ROOT, EvaluationFailed, evaluate
from tests.stack.stacks import DECLARED, cli_config, deployable_config, shipped_config, stack_names
from workload_id.config import MAX_NAME_PREFIX_LENGTH, ConfigError, StackConfig, load_config


def load(values: dict[str, Any] | None = None, secrets: dict[str, str] | None = None) -> StackConfig:
    """The config as the CLI hands it to the program: declared defaults, then these values."""
    pulumi.runtime.set_all_config(*cli_config(values or {}, secrets))
    return load_config(pulumi.Config(PROJECT))


def assert_printed_as_one_line(error: BaseException) -> None:
    """The Python language host prints a pulumi.RunError as its message alone, anything else as
    "Program failed with an unhandled exception:" and a traceback (pulumi/pulumi
    sdk/python/cmd/pulumi-language-python-exec: `except pulumi.RunError as e: pulumi.log.error(str(e))`)."""
    assert isinstance(error, pulumi.RunError), f"printed with a traceback: {type(error).__name__}"
    assert "\n" not in str(error)


def test_defaults_give_a_cheap_working_dev_config() -> None:
    config = load()
    assert config.location == "japaneast"
    assert config.node_count == 1
    assert config.disable_local_accounts is True
    assert config.kubelogin_mode == "azurecli"
    assert config.image_builder == "acr"
    assert [(s.name, s.value) for s in config.secrets] == [("demo-secret", None)]
    (workload,) = config.workloads
    assert (workload.name, workload.namespace, workload.service_account, workload.secrets, workload.delivery) == (
        "demo",
        "workload-identity-demo",
        "keyvault-reader",
        ("demo-secret",),
        "sdk",
    )
    assert workload.identity_suffix == "workload", "the identity keeps its name from before the workloads list"
    assert config.authorized_ip_ranges == ()


class RecordingConfig(pulumi.Config):
    """A Config that notes every key the program reads."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.read: set[str] = set()

    def _get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.read.add(key)
        return super()._get(key, *args, **kwargs)


def test_the_program_reads_exactly_the_declared_keys_each_with_type_description_and_default() -> None:
    pulumi.runtime.set_all_config(*cli_config({}))
    config = RecordingConfig()
    load_config(config)
    assert config.read - {"secretValue"} == set(DECLARED)
    for key, spec in DECLARED.items():
        assert spec.get("description"), key
        # The types the CLI validates a stack's value against (sdk/go/common/workspace/project.go, ValidateConfigValue;
        # `object` items since pulumi v3.186.0, #20129, and `object` keys since v3.187.0, #20132, both older than the
        # CLI deploy.sh requires).
        assert spec.get("type") in ("string", "integer", "boolean", "array", "object"), key
        if spec["type"] == "array":
            assert spec["items"]["type"] in ("string", "object"), key
        # A declared key without a default is required by Pulumi in every stack.
        assert "default" in spec, key


def test_a_key_without_a_value_is_refused_by_name() -> None:
    """The CLI always gives declared keys; only a key missing from Pulumi.yaml can arrive empty."""
    values, secret_keys = cli_config({})
    pulumi.runtime.set_all_config({k: v for k, v in values.items() if not k.endswith(":nodeCount")}, secret_keys)
    with pytest.raises(ConfigError, match=r"^config 'nodeCount': has no value\. Fix: declare it in Pulumi\.yaml"):
        load_config(pulumi.Config(PROJECT))


def test_the_optional_secret_is_documented_where_pulumi_would_otherwise_require_it() -> None:
    project = (ROOT / "Pulumi.yaml").read_text()
    assert "secretValue" not in yaml.safe_load(project)["config"]
    assert "secretValue" in project, "Pulumi.yaml explains the undeclared secret in a comment"


@pytest.mark.parametrize("stack", stack_names())
def test_stack_files_set_only_declared_keys_and_load_cleanly(stack: str) -> None:
    assert set(shipped_config(stack)) <= set(DECLARED), "stack files configure only declared keys"
    assert isinstance(load(deployable_config(stack)), StackConfig)


@pytest.mark.parametrize("stack", stack_names())
def test_stack_file_values_have_the_declared_types(stack: str) -> None:
    """Pulumi validates stack values against Pulumi.yaml's types: a quoted "3" is not an integer."""
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    python_type = {"string": str, "integer": int, "boolean": bool, "array": list}
    for key, value in shipped_config(stack).items():
        assert type(value) is python_type[declared[key]["type"]], f"{stack}: {key}={value!r}"


def test_prod_refuses_to_deploy_until_the_placeholder_ranges_are_replaced() -> None:
    """Every first `deploy.sh prod` meets this, by design: one line, no traceback."""
    with pytest.raises(
        ConfigError, match=r"^config 'authorizedIpRanges': '203\.0\.113\.0/24' is a documentation"
    ) as refused:
        load(shipped_config("prod"))
    assert_printed_as_one_line(refused.value)


def test_given_values_are_typed_and_normalised() -> None:
    config = load(
        {
            "location": "WestEurope",
            "nodeCount": "3",
            "availabilityZones": ["1", "2", "3"],
            "authorizedIpRanges": ["52.140.10.0/24", "20.43.7.9/32"],
            "disableLocalAccounts": "false",
            "secretExpiryDays": "90",
            "kubernetesVersion": "1.34",
        },
        secrets={"secretValue": "s3cr3t"},
    )
    assert config.location == "westeurope"
    assert config.node_count == 3
    assert config.availability_zones == ("1", "2", "3")
    assert config.authorized_ip_ranges == ("52.140.10.0/24", "20.43.7.9/32")
    assert config.disable_local_accounts is False
    assert config.secrets[0].expiry_days == 90
    assert config.kubernetes_version == "1.34"
    assert isinstance(config.secrets[0].value, pulumi.Output)
    assert config.secrets[0].value_key == "secretValue"


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("location", "", "not an Azure region"),
        ("location", "west europe", "not an Azure region"),
        ("namePrefix", "W", "lowercase"),
        ("namePrefix", "a" * (MAX_NAME_PREFIX_LENGTH + 1), "lowercase"),
        ("namePrefix", "1abc", "starting with a letter"),
        ("kubernetesVersion", "latest", "not a minor version"),
        ("kubernetesVersion", "1.34.2", "a pinned patch would become a downgrade"),
        ("nodeVmSize", "", "VM size"),
        ("nodeCount", "0", "must be 1-100"),
        ("nodeCount", "three", "declared type"),
        ("nodeOsDiskType", "Fast", "not one of Managed, Ephemeral"),
        ("nodeOsDiskSizeGb", "5000", "30-2048"),
        ("nodeOsDiskSizeGb", "10", "30-2048"),
        ("availabilityZones", ["4"], "is not a zone"),
        ("availabilityZones", "1", "list of strings"),
        ("aksTier", "Gold", "not one of Free, Standard, Premium"),
        ("authorizedIpRanges", ["10.0.0.300/24"], "not a valid CIDR"),
        ("authorizedIpRanges", ["10.0.0.1/24"], "not a valid CIDR"),  # host bits set: a typo, not a range
        ("disableLocalAccounts", "maybe", "declared type"),
        ("kubeloginMode", "devicecode", "not one of azurecli"),
        ("acrSku", "Classic", "not one of Basic"),
        ("keyVaultSoftDeleteDays", "3", "7-90"),
        ("keyVaultNetworkDefaultAction", "Block", "not one of Allow, Deny"),
        ("keyVaultAllowedIpRanges", ["example.com"], "not a valid CIDR"),
        ("secretName", "demo_secret", "not a Key Vault secret name"),
        ("secretExpiryDays", "-1", "1-3650"),
        ("secretExpiryDays", "5000", "1-3650"),
        ("authorizedIpRanges", ["203.0.113.0/24"], "documentation placeholder"),
        ("keyVaultAllowedIpRanges", ["198.51.100.7/32"], "documentation placeholder"),
        ("namespace", "Demo", "DNS-1123"),
        ("namespace", "a" * 64, "DNS-1123"),
        ("namespace", "kube-system", "system namespace"),
        ("namespace", "default", "system namespace"),
        ("namespace", "gatekeeper-system", "system namespace"),
        ("serviceAccountName", "reader-", "DNS-1123"),
        ("imageBuilder", "kaniko", "not one of acr, docker"),
        ("appRetryBudgetSeconds", "5", "30-1800"),
        ("secretRotationDays", "-1", "1-3650"),
        ("secretRotationDays", "4000", "1-3650"),
        ("secretDelivery", "file", "not one of sdk, csi, both"),
        ("csiRotationPollInterval", "2", "30s to 24h"),
        ("csiRotationPollInterval", "10s", "30s to 24h"),
        ("csiRotationPollInterval", "25h", "30s to 24h"),
        ("csiRotationPollInterval", "1m30s", "30s to 24h"),
        ("csiRotationPollInterval", "2d", "30s to 24h"),
    ],
)
def test_bad_input_fails_early_naming_the_key_and_the_fix(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load({key: value})
    message = str(raised.value)
    assert message.startswith(f"config '{key}': ")
    assert fragment in message
    assert "Fix: " in message
    assert_printed_as_one_line(raised.value)


def test_a_rotation_no_shorter_than_the_expiry_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load({"secretExpiryDays": "30", "secretRotationDays": "30"})
    message = str(raised.value)
    assert message.startswith("config 'secretRotationDays': is 30, not less than secretExpiryDays (30)")
    assert "Fix: pulumi config set secretRotationDays 20" in message
    assert_printed_as_one_line(raised.value)
    assert load({"secretExpiryDays": "30", "secretRotationDays": "20"}).secrets[0].rotation_days == 20
    assert load({"secretRotationDays": "20"}).secrets[0].expiry_days is None  # rotation alone: no expiry date


def test_a_one_day_expiry_suggests_a_longer_expiry_not_an_impossible_rotation() -> None:
    with pytest.raises(ConfigError, match=r"Fix: pulumi config set secretExpiryDays 31$"):
        load({"secretExpiryDays": "1", "secretRotationDays": "1"})


def test_rotating_a_configured_value_without_an_expiry_is_refused_as_doing_nothing() -> None:
    with pytest.raises(ConfigError) as raised:
        load({"secretRotationDays": "30"}, secrets={"secretValue": "mine"})
    message = str(raised.value)
    assert message.startswith("config 'secretRotationDays': does nothing with a configured secretValue")
    assert "Fix: pulumi config set secretExpiryDays 90" in message
    assert load({"secretRotationDays": "30", "secretExpiryDays": "90"}, secrets={"secretValue": "mine"})


@pytest.mark.parametrize(("delivery", "sdk", "csi"), [("sdk", True, False), ("csi", False, True), ("both", True, True)])
def test_secret_delivery_selects_the_readers(delivery: str, sdk: bool, csi: bool) -> None:
    config = load({"secretDelivery": delivery, "csiRotationPollInterval": "90s"})
    (workload,) = config.workloads
    assert (workload.reads_with_sdk, workload.reads_with_csi, config.reads_with_csi) == (sdk, csi, csi)
    assert config.csi_rotation_poll_interval == "90s"


def test_ephemeral_os_disk_needs_an_explicit_size() -> None:
    with pytest.raises(ConfigError, match=r"^config 'nodeOsDiskSizeGb': must be set when nodeOsDiskType is Ephemeral"):
        load({"nodeOsDiskType": "Ephemeral"})
    assert load({"nodeOsDiskType": "Ephemeral", "nodeOsDiskSizeGb": "64"}).node_os_disk_size_gb == 64


def test_invalid_config_stops_the_program_with_one_line_and_declares_nothing() -> None:
    with pytest.raises(EvaluationFailed) as raised:
        evaluate({"namespace": "kube-system"})
    assert_printed_as_one_line(raised.value.cause)
    message = str(raised.value.cause)
    assert message.startswith("config 'namespace': 'kube-system' is a system namespace")
    assert "Fix: use a dedicated namespace" in message
    assert raised.value.resources == []
    assert raised.value.invokes == []


def test_the_docs_show_every_key_for_dev_and_prod() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    table = page[page.index("## dev and prod") : page.index("## Outputs")]
    for key in [*yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"], "secretValue"]:
        assert f"`{key}`" in table, key
