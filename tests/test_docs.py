"""Documentation that must stay in step with the code: the README's methods table (generated
from the registry) and the command-line contract in docs/CLI.md (every command and flag it
documents is one the parser accepts)."""
from __future__ import annotations

import re
from pathlib import Path

from cqox_core import cli, docs

ROOT = Path(__file__).resolve().parent.parent


def test_readme_methods_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.with_table(readme) == readme, "README methods table drifted: run `python -m cqox_core.docs --write`"


def test_readme_does_not_send_users_outside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme and "shared/CLI_CONTRACT" not in readme
    assert "docs/CLI.md" in readme


def _subcommands() -> dict[str, set[str]]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return {name: {o for a in p._actions for o in a.option_strings} for name, p in sub.choices.items()}


#: Documented in the contract, not implemented yet; each must be named under "Not yet available"
#: in docs/CLI.md, and is removed from here when it lands.
PENDING = {"render", "audition"}


def test_pending_parts_of_the_contract_are_said_to_be_pending():
    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    pending = text.split("## Not yet available", 1)[1].split("\n## ", 1)[0]
    commands = _subcommands()
    for item in PENDING:
        assert f"`{item}`" in pending or f"`cqox {item}`" in pending, item
        assert item not in commands and all(item not in flags for flags in commands.values()), \
            f"{item} is implemented now: remove it from PENDING and from docs/CLI.md's list"


def test_every_documented_command_and_flag_exists():
    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    commands = _subcommands()
    usage = re.findall(r"^\s+cqox (\w+)(.*(?:\n\s{14,}.*)*)", text, flags=re.M)
    assert usage, "docs/CLI.md lists no commands"
    for command, rest in usage:
        if command in PENDING:
            continue
        assert command in commands, f"documented command `cqox {command}` is not implemented"
        for flag in re.findall(r"--[a-z][a-z-]*", rest):
            if flag not in PENDING:
                assert flag in commands[command], f"`cqox {command}` does not accept the documented {flag}"
