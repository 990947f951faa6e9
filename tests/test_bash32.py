"""Every shell script a user runs keeps to bash 3.2, macOS's stock bash (and its /bin/sh).

No bash 3.2 can be installed here (Debian and PyPI have bash 5 only, and bash's compatibility levels do not
bring back the old behaviour), so this reads the scripts for the constructs that bash 3.2 refuses or treats
differently, each with what bash 3.2 does instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.stack.stacks import ROOT

SCRIPTS = sorted([*ROOT.glob("scripts/*.sh"), ROOT / ".ci" / "run"])

# (construct, what bash 3.2 does with it)
HAZARDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(declare|local|typeset)\s+-[a-zA-Z]*[An]"), "no associative arrays or namerefs (bash 4)"),
    (re.compile(r"\b(mapfile|readarray|coproc)\b"), "no such builtin (bash 4)"),
    (re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(,,?|\^\^?)\}"), "no case conversion in expansions (bash 4)"),
    (re.compile(r"&>>|\|&"), "no &>> or |& redirection (bash 4)"),
    (re.compile(r"\[-[0-9]+\]\}"), "no negative array index (bash 4.3)"),
    (re.compile(r"\bwait\s+-n\b"), "no wait -n (bash 4.3)"),
    (re.compile(r";;&|;&"), "no case fall-through (bash 4)"),
    (re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*@[QEPAa]\}"), "no @ operators in expansions (bash 4.4)"),
    (re.compile(r"\bshopt\s+-s\s+(globstar|lastpipe)\b"), "no such shell option (bash 4)"),
]


def empty_array_expansions(text: str) -> list[str]:
    """`"${name[@]}"` of an array that may be empty (it is set to `()` somewhere): under `set -u`, bash before
    4.4 fails with 'name[@]: unbound variable'. `${name[@]+"${name[@]}"}` expands to nothing instead."""
    may_be_empty = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)=\(\)", text))
    unguarded = re.sub(r'\$\{(\w+)\[@\]\+"\$\{\1\[@\]\}"\}', "", text)
    return sorted({name for name in re.findall(r"\$\{(\w+)\[@\]\}", unguarded) if name in may_be_empty})


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_script_keeps_to_bash_3_2(script: Path) -> None:
    text = "\n".join(line for line in script.read_text().splitlines() if not line.lstrip().startswith("#"))
    found = [f"{pattern.pattern}: {why}" for pattern, why in HAZARDS if pattern.search(text)]
    found += [
        f'"${{{name}[@]}}" of an array that may be empty: unbound under set -u' for name in empty_array_expansions(text)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("script", "hazard"),
    [
        ('set -u\nargs=()\ncmd "${args[@]}"\n', True),
        ('set -u\nargs=()\ncmd ${args[@]+"${args[@]}"}\n', False),
        ('tools=(a b)\nfor t in "${tools[@]}"; do :; done\n', False),
    ],
)
def test_the_empty_array_check_tells_the_guarded_form_apart(script: str, hazard: bool) -> None:
    assert bool(empty_array_expansions(script)) is hazard
