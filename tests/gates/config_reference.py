"""The configuration reference in docs/configuration.md, generated from Pulumi.yaml's declared keys: each key's
type, default and description, in the order Pulumi.yaml declares them (as terraform-docs does for modules).

    python -m tests.gates.config_reference          # print it
    python -m tests.gates.config_reference --write  # put it between the markers in docs/configuration.md

tests/test_docs.py fails while the page and Pulumi.yaml disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "configuration.md"
START = "<!-- config-reference: generated from Pulumi.yaml by `python -m tests.gates.config_reference --write` -->"
END = "<!-- end of config-reference -->"


def _type(spec: dict[str, Any]) -> str:
    return f"array of {spec['items']['type']}" if spec["type"] == "array" else spec["type"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    rows = [
        f"| `{key}` | {_type(spec)} | `{json.dumps(spec['default'])}` | {_cell(spec['description'])} |"
        for key, spec in declared.items()
    ]
    return "\n".join([START, "", "| key | type | default | description |", "|---|---|---|---|", *rows, "", END])


def current() -> str:
    text = PAGE.read_text()
    return text[text.index(START) : text.index(END) + len(END)]


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        PAGE.write_text(PAGE.read_text().replace(current(), reference()))
    else:
        print(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
