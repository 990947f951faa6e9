"""Where Azure resources go: one resource group, one location, one set of tags."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Placement:
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]
