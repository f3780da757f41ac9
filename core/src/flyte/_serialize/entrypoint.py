"""``flyte-execute``: run one task from serialized inputs, in a container or as a plain process.

    flyte-execute --inputs URI --outputs-prefix URI [--raw-data-path URI] [--run-name NAME]
        [--name ACTION] [--version V] [--project P] [--domain D] [--run-base-dir URI]
        [--tgz URI --dest DIR] [--resolver NAME] -- <locator...>

It imports the task (see :mod:`flyte._serialize.command` for the locator), reads its inputs
(a ``LiteralMap`` file; no file means no inputs), runs it on the local engine inside a run (so
``pre -> execute -> post``, nested task calls, retries and the timeout all apply, exactly as
under ``flyte.run``), and writes ``outputs.pb`` under the outputs prefix. When anything fails it
writes ``error.pb`` and ``error.json`` instead (kind, code, message, the user's traceback),
prints the traceback on stderr and exits non-zero.

Option values still holding a cluster template (``{{.runName}}``) count as not given.
Exit codes: 0 success, 1 the task or its inputs failed (user error), 2 bad command line,
3 a system error (loading flyte's machinery, writing outputs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["EXIT_SYSTEM_ERROR", "EXIT_USAGE", "EXIT_USER_ERROR", "execute", "main"]

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_SYSTEM_ERROR = 3

_RUN_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


class _Failure(Exception):
    """A failure already described for the error documents."""

    def __init__(self, info: Any, exit_code: int):
        super().__init__(info.message)
        self.info = info
        self.exit_code = exit_code


def _parser() -> argparse.ArgumentParser:
    from flyte._serialize.command import DEFAULT_RESOLVER, ENTRYPOINT

    p = argparse.ArgumentParser(
        prog=ENTRYPOINT,
        description="Run a flyte task from serialized inputs; arguments after -- locate the task.",
    )
    p.add_argument("--inputs", required=True, help="inputs.pb file (or a folder holding it); may be missing only for a task without inputs")
    p.add_argument("--outputs-prefix", required=True, help="where outputs.pb or error.pb/error.json are written")
    p.add_argument("--raw-data-path", help="where files and directories produced by the task are uploaded")
    p.add_argument("--run-base-dir", default=os.environ.get("RUN_OUTPUT_BASE_DIR"), help="run metadata folder")
    p.add_argument("--run-name", help="name of the run (default: a generated one)")
    p.add_argument("--name", help="name of the action within the run")
    p.add_argument("--version", help="version of the deployed code")
    p.add_argument("--project")
    p.add_argument("--domain")
    p.add_argument("--tgz", help="code bundle to download and unpack before loading the task")
    p.add_argument("--dest", default=".", help="where the code bundle is unpacked")
    p.add_argument("--resolver", default=DEFAULT_RESOLVER, help=f"how to load the task (default {DEFAULT_RESOLVER})")
    return p


def _split(argv: Sequence[str]) -> Tuple[List[str], List[str]]:
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def _given(value: Optional[str]) -> Optional[str]:
    from flyte._serialize.command import is_placeholder

    return None if is_placeholder(value) else value


def _error_info(e: BaseException, task_name: Optional[str], default_kind: str = "user") -> Any:
    from flyte._serialize.io import ErrorInfo
    from flyte.errors import BaseRuntimeError, FlyteError

    tb = getattr(e, "traceback", None)
    if not tb:
        root = e.__cause__ if isinstance(e, BaseRuntimeError) and e.__cause__ is not None else e
        tb = "".join(traceback.format_exception(type(root), root, root.__traceback__))
    if isinstance(e, BaseRuntimeError):
        kind = "system" if e.kind == "system" else "user"
        return ErrorInfo(kind=kind, code=e.code, message=str(e.message), traceback=tb, task=task_name, recoverable=kind == "system")
    if isinstance(e, FlyteError):
        # flyte's own validation errors say everything in the message; their stack is flyte's.
        kind = "user"
        tb = ""
    else:
        kind = default_kind
    return ErrorInfo(
        kind=kind,  # type: ignore[arg-type]
        code=type(e).__name__,
        message=str(e) or type(e).__name__,
        traceback=tb,
        task=task_name,
        recoverable=kind == "system",
    )


def _load(opts: argparse.Namespace, locator: List[str]) -> Any:
    from flyte._loader import load_task

    # A console script does not put the working directory on sys.path, but the code it runs
    # lives there (the image's workdir, or the unpacked code bundle).
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    tgz = _given(opts.tgz)
    if tgz:
        from flyte._bundle import download_code_bundle
        from flyte.models import CodeBundle

        bundle = download_code_bundle(CodeBundle(computed_version=opts.version or "", tgz=tgz, destination=opts.dest))
        dest = os.path.abspath(bundle.downloaded_path or opts.dest)
        if dest not in sys.path:
            sys.path.insert(0, dest)
    try:
        return load_task(opts.resolver, locator)
    except BaseException as e:
        from flyte.errors import ModuleLoadError

        info = _error_info(e, None)
        info.code = "ModuleLoadError" if not isinstance(e, ModuleLoadError) else e.code
        info.message = f"could not load the task from '{' '.join(locator)}': {type(e).__name__}: {e}"
        raise _Failure(info, EXIT_USER_ERROR) from e


async def _read_inputs(opts: argparse.Namespace, task: Any) -> Dict[str, Any]:
    from flyte._serialize.io import ErrorInfo, inputs_uri, read_literal_map
    from flyte.types import TypeEngine

    uri = inputs_uri(opts.inputs)
    types = {k: t for k, (t, _) in task.interface.inputs.items()}
    try:
        lm = await read_literal_map(uri)
    except Exception as e:
        info = ErrorInfo(kind="user", code="BadInputs", message=f"could not read the inputs at {uri}: {e}", task=task.name)
        raise _Failure(info, EXIT_USER_ERROR) from e
    if lm is None:
        if not types:
            return {}  # a task without inputs needs no inputs file
        # Running with defaults because a path was wrong (or storage was slow) would be silent harm.
        info = ErrorInfo(
            kind="user",
            code="BadInputs",
            message=f"task {task.name} takes inputs ({', '.join(types)}) but there is no inputs file at {uri}",
            task=task.name,
        )
        raise _Failure(info, EXIT_USER_ERROR)
    unknown = sorted(k for k in lm.literals if k not in types)
    if unknown:
        info = ErrorInfo(
            kind="user",
            code="BadInputs",
            message=f"task {task.name}: unknown input(s) {', '.join(unknown)}; its inputs are {', '.join(types) or '(none)'}",
            task=task.name,
            details={"inputs": ",".join(unknown)},
        )
        raise _Failure(info, EXIT_USER_ERROR)
    values: Dict[str, Any] = {}
    for name, literal in lm.literals.items():
        try:
            values[name] = await TypeEngine.to_python_value(literal, types[name])
        except Exception as e:
            type_name = getattr(types[name], "__name__", None) or repr(types[name])
            info = ErrorInfo(
                kind="user",
                code="BadInputs",
                message=f"task {task.name}: input {name!r} cannot be read as {type_name}: {e}",
                traceback="".join(traceback.format_exception(type(e), e, e.__traceback__)),
                task=task.name,
                details={"input": name, "expected_type": type_name},
            )
            raise _Failure(info, EXIT_USER_ERROR) from e
    return values


async def _run(opts: argparse.Namespace, task: Any, inputs: Dict[str, Any]) -> Tuple[Dict[str, Any], Any]:
    """Run the task in a run; return its outputs and the task context to convert them in."""
    from flyte import storage
    from flyte._engine.run import with_runcontext
    from flyte._config import get_config
    from flyte.models import ActionID, RawDataPath, TaskContext, generate_random_name

    run_name = _given(opts.run_name)
    if run_name is None or not _RUN_NAME_RE.match(run_name):
        run_name = generate_random_name(16)  # an unusual cluster name must not stop the task
    raw = _given(opts.raw_data_path) or storage.join(get_config().default_raw_data_path(), run_name)
    project, domain = _given(opts.project), _given(opts.domain)
    runner = with_runcontext(
        name=run_name,
        raw_data_path=raw,
        run_base_dir=_given(opts.run_base_dir),
        project=project,
        domain=domain,
    )
    runner.task_mode = "remote"  # the container entrypoint runs tasks in a cluster
    try:
        run = await runner.run.aio(task, **inputs)
    except asyncio.CancelledError:
        raise
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise _Failure(_error_info(e, task.name), EXIT_USER_ERROR) from e
    # Outputs are converted after the run ended; in this context, files the task already wrote
    # under the run's raw data path are recognized as uploaded instead of being copied again.
    action = ActionID(name=_given(opts.name) or "a0", run_name=run_name, project=project, domain=domain)
    tctx = TaskContext(action=action, raw_data_path=RawDataPath(path=raw), mode="local", task_name=task.name)
    return run.outputs().named_outputs, tctx


async def _execute(opts: argparse.Namespace, locator: List[str]) -> int:
    from flyte._serialize.io import ErrorInfo, write_error, write_outputs

    task_name: Optional[str] = None
    try:
        task = _load(opts, locator)
        task_name = task.name
        inputs = await _read_inputs(opts, task)
        outputs, tctx = await _run(opts, task, inputs)
        from flyte._context import current_task_context

        token = current_task_context.set(tctx)
        try:
            await write_outputs(opts.outputs_prefix, outputs, dict(task.interface.outputs))
        except Exception as e:
            raise _Failure(_error_info(e, task_name, default_kind="system"), EXIT_SYSTEM_ERROR) from e
        finally:
            current_task_context.reset(token)
        return 0
    except _Failure as f:
        failure = f
    except Exception as e:  # flyte's own machinery broke
        failure = _Failure(_error_info(e, task_name, default_kind="system"), EXIT_SYSTEM_ERROR)
    info: ErrorInfo = failure.info
    if info.task is None:
        info.task = task_name
    sys.stderr.write(info.traceback or "")
    sys.stderr.write(f"flyte-execute: {info.kind} error {info.code}: {info.message}\n")
    try:
        await write_error(opts.outputs_prefix, info)
    except Exception as e:
        sys.stderr.write(f"flyte-execute: could not write the error document under {opts.outputs_prefix}: {e}\n")
        return EXIT_SYSTEM_ERROR
    return failure.exit_code


def execute(argv: Sequence[str]) -> int:
    """Run ``flyte-execute`` with ``argv`` (without the program name); return the exit code."""
    options, locator = _split(argv)
    parser = _parser()
    try:
        opts = parser.parse_args(options)
    except SystemExit as e:
        return int(e.code or 0) if e.code != 2 else EXIT_USAGE
    if not locator:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{parser.prog}: error: the task locator is missing after '--'\n")
        return EXIT_USAGE
    return asyncio.run(_execute(opts, locator))


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of the ``flyte-execute`` console script."""
    sys.exit(execute(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
