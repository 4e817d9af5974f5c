"""Entry point of `tntc`: option hoisting, error rendering and exit codes."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tentacular.errors import EXIT_FAILURE, EXIT_USAGE, TentacularError, UsageError

if TYPE_CHECKING:
    from tentacular.cli.output import OutputFormat

GLOBAL_VALUE_OPTIONS = frozenset({"-o", "--output", "-n", "--namespace", "--env"})
GLOBAL_FLAGS = frozenset({"--debug"})


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move global options written after the command in front of it (like persistent flags)."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            rest.extend(argv[index:])
            break
        name = token.split("=", 1)[0]
        if token in GLOBAL_FLAGS or (
            name in GLOBAL_VALUE_OPTIONS and "=" in token and token.startswith("--")
        ):
            front.append(token)
        elif token in GLOBAL_VALUE_OPTIONS and index + 1 < len(argv):
            front.extend(argv[index : index + 2])
            index += 1
        elif len(token) > 2 and token[:2] in ("-o", "-n") and not token.startswith("--"):
            front.append(token)  # -ojson, -nprod
        else:
            rest.append(token)
        index += 1
    return front + rest


def _command_name(argv: Sequence[str]) -> str:
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in GLOBAL_VALUE_OPTIONS:
            skip = True
            continue
        if not token.startswith("-"):
            return token
    return "tntc"


def _command_path(argv: Sequence[str]) -> list[str]:
    skip = False
    path: list[str] = []
    for token in argv:
        if skip:
            skip = False
        elif token in GLOBAL_VALUE_OPTIONS:
            skip = True
        elif not token.startswith("-"):
            path.append(token)
    return path


def _output_format(argv: Sequence[str]) -> OutputFormat:
    """The ``-o`` value as the error path needs it before Typer has parsed anything."""
    for index, token in enumerate(argv):
        value = None
        if token in ("-o", "--output") and index + 1 < len(argv):
            value = argv[index + 1]
        elif token.startswith("--output="):
            value = token.partition("=")[2]
        elif token.startswith("-o") and len(token) > 2 and not token.startswith("--"):
            value = token[2:]
        if value is not None:
            return "json" if value == "json" else "yaml" if value == "yaml" else "text"
        if token == "--":
            break
    return "text"


def _real_command(argv: Sequence[str]) -> str:
    """The command as the user named it (``cluster check``, ``secrets sync``), for the envelope."""
    import typer.main

    from tentacular.cli.app import app

    current: Any = typer.main.get_command(app)
    names: list[str] = []
    for token in _command_path(argv):
        children = getattr(current, "commands", None)
        if not children or token not in children:
            break
        names.append(token)
        current = children[token]
    return " ".join(names) or "tntc"


def main(argv: Sequence[str] | None = None) -> int:
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    if "--version" in args and _command_name(args) == "tntc":
        args = [a for a in args if a != "--version"] + ["version"]  # `tntc --version` = `tntc version`
    mcp_stdio = _is_mcp_stdio(args)
    if mcp_stdio:  # answer the session's opening while Typer, the CLI and the SDK load
        from tentacular.agent import open_stdio_front

        open_stdio_front()
    import typer
    from typer._click import exceptions as click_exceptions

    from tentacular.cli.app import app
    from tentacular.cli.output import GlobalOptions, emit_error

    options = GlobalOptions(output=_output_format(args), debug="--debug" in args)
    try:
        result = _run(app, args, mcp_stdio)
    except TentacularError as error:
        if options.debug:
            traceback.print_exc()
        return emit_error(options, _real_command(args), error)
    except typer.Exit as exit_:
        return int(exit_.exit_code or 0)
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        return EXIT_FAILURE
    except click_exceptions.NoArgsIsHelpError as exc:
        if options.machine:  # an agent gets an envelope, not a help page
            path = " ".join(["tntc", *_command_path(args)])
            missing = UsageError(f"{path} needs a command", hint=f"see: {path} --help")
            return emit_error(options, _real_command(args), missing)
        sys.stderr.write(exc.format_message() + "\n")
        return EXIT_USAGE
    except click_exceptions.ClickException as exc:
        command = _real_command(args)
        where = "tntc" if command == "tntc" else f"tntc {command}"
        return emit_error(options, command, UsageError(exc.format_message(), hint=f"see: {where} --help"))
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except Exception as exc:  # a bug: say so plainly, traceback only on request
        if options.debug:
            traceback.print_exc()
        internal = TentacularError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="re-run with --debug for the traceback and report it",
        )
        return emit_error(options, _real_command(args), internal)
    return int(result) if isinstance(result, int) else 0


def _is_mcp_stdio(args: Sequence[str]) -> bool:
    """`tntc mcp` serving stdio (not --http, not asking for help)."""
    if _command_path(args)[:1] != ["mcp"]:
        return False
    return not any(a in ("-h", "--help") or a.split("=", 1)[0] == "--http" for a in args)


def _run(app: Any, args: list[str], mcp_stdio: bool) -> Any:
    try:
        return app(args=args, prog_name="tntc", standalone_mode=False)
    finally:
        if mcp_stdio:  # stdout is the wire again before any error is rendered
            from tentacular.agent import close_stdio_front

            close_stdio_front()


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
