"""The manifest gates (scripts/test.sh): the SecretProviderClass has no schema in kubernetes-validate, so it is
checked against its CRD's schema, vendored in tests/gates/schemas and made strict (like kubernetes-validate
--strict): it accepts what the stack renders, and refuses a wrong type, a field the CRD does not declare (which the
API server would drop with a warning) and the deprecated v1alpha1 (which it still serves)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from tests.gates.render import manifests
from tests.stack.harness import ROOT, Evaluation

SCHEMA = json.loads((ROOT / "tests" / "gates" / "schemas" / "secretproviderclass-v1.json").read_text())


def rendered_class(dev: Evaluation) -> dict[str, Any]:
    (found,) = [m for m in manifests(dev) if m["kind"] == "SecretProviderClass"]
    return found


def test_the_rendered_class_passes_the_crd_schema(dev: Evaluation) -> None:
    jsonschema.validate(rendered_class(dev), SCHEMA)


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda m: m["spec"]["parameters"].update(usePodIdentity=False), "a parameter that is not a string"),
        (lambda m: m["spec"].update(parameter={}), "a misspelt field"),
        (lambda m: m.update(apiVersion="secrets-store.csi.x-k8s.io/v1alpha1"), "the deprecated version"),
        (lambda m: m["spec"].update(secretObjects=[{"secretName": "x", "data": [{"objectname": "y"}]}]), "strict"),
    ],
)
def test_the_schema_refuses_what_the_api_server_would(dev: Evaluation, edit: Any, why: str) -> None:
    broken = copy.deepcopy(rendered_class(dev))
    edit(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_the_test_command_validates_custom_kinds_with_the_vendored_schema() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert "check-jsonschema --schemafile tests/gates/schemas/secretproviderclass-v1.json" in script
