"""`tntc init`: a new workflow directory with one node (Python or TypeScript), a fixture, a contract."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tentacular.defaults import WORKFLOW_FILE
from tentacular.errors import InputError, ScaffoldError
from tentacular.spec._model import WORKFLOW_NAME_RE

_WORKFLOW_YAML = """\
name: {name}
version: "1.0"
description: ""

triggers:
  - type: manual

nodes:
  hello:
    path: ./nodes/hello.{ext}

edges: []

config:
  timeout: 30s
  retries: 0

# Every network service the workflow may reach. Secrets, the NetworkPolicy and the
# runtime guard are derived from this list; nothing else is reachable.
contract:
  version: "1"
  dependencies: {{}}
"""

_HELLO_NODE = '''\
"""The first node of {name}: replace it with your own logic."""


async def run(ctx, input):
    ctx.log.info("hello node executed")
    who = input.get("name") if isinstance(input, dict) else None  # e.g. --input '{{"name": "you"}}'
    return {{"message": f"Hello, {{who}}!" if who else "Hello from {name}!"}}
'''

_HELLO_TS_NODE = """\
// The first node of {name}: replace it with your own logic.
import type {{ Context }} from "tentacular";

export default async function run(ctx: Context, input: unknown) {{
  ctx.log.info("hello node executed");
  const who = (input as {{ name?: string }} | null)?.name; // e.g. --input '{{"name": "you"}}'
  return {{ message: who ? `Hello, ${{who}}!` : "Hello from {name}!" }};
}}
"""

LANGUAGES = ("python", "ts")

_FIXTURE = """\
{{
  "input": {{}},
  "expected": {{"message": "Hello from {name}!"}}
}}
"""


_GITIGNORE = """\
.secrets.yaml
.secrets/
.tentacular/
__pycache__/
"""


@dataclass(frozen=True)
class ScaffoldResult:
    directory: Path
    files: tuple[Path, ...]


def scaffold_workflow(
    name: str, directory: Path | None = None, *, force: bool = False, lang: str = "python"
) -> ScaffoldResult:
    """Create the workflow; refuse a non-empty directory unless ``force`` (Q37)."""
    if lang not in LANGUAGES:
        raise InputError(f"--lang must be one of {', '.join(LANGUAGES)}, got: {lang}")
    ext = "ts" if lang == "ts" else "py"
    if not re.match(WORKFLOW_NAME_RE, name):
        raise InputError(
            f"workflow name must be kebab-case (e.g. my-workflow), got: {name}",
            hint="use lower-case letters, digits and single hyphens",
        )
    target = directory if directory is not None else Path(name)
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ScaffoldError(
            f"directory {target} is not empty",
            hint="choose another name or --dir, or pass --force to overwrite the scaffold files",
        )
    files = {
        WORKFLOW_FILE: _WORKFLOW_YAML,
        f"nodes/hello.{ext}": _HELLO_TS_NODE if ext == "ts" else _HELLO_NODE,
        "tests/fixtures/hello.json": _FIXTURE,
        # Generated from the scaffold's contract as `tntc secrets init` does (empty for now).
        ".secrets.yaml.example": _secrets_example(name),
        ".gitignore": _GITIGNORE,
    }
    written: list[Path] = []
    for relative, template in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            template if relative.startswith(".secrets") else template.format(name=name, ext=ext),
            encoding="utf-8",
        )
        written.append(path)
    return ScaffoldResult(directory=target, files=tuple(written))


def _secrets_example(name: str) -> str:
    from tentacular.spec._loader import parse_workflow
    from tentacular.spec._secret_refs import required_secrets, secrets_template

    workflow, _ = parse_workflow(_WORKFLOW_YAML.format(name=name, ext="py"))
    requirements = required_secrets(workflow, Path("/nonexistent")) if workflow is not None else []
    return secrets_template(name, requirements, commented=True)
