"""One error root: every error class of core is a FlyteError, documented, with its published bases."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Dict, List, Tuple, Type

import pytest

import flyte
import flyte.errors
from flyte.errors import FlyteError

# The builtin (or flyte) bases each error has in the published SDK 2.12: ``except`` clauses written
# against it must keep catching ours. Names the published SDK lacks are not listed.
PUBLISHED_BASES: Dict[str, Tuple[str, ...]] = {
    "BaseRuntimeError": ("RuntimeError",),
    "InitializationError": ("BaseRuntimeError",),
    "RuntimeSystemError": ("BaseRuntimeError",),
    "RuntimeUserError": ("BaseRuntimeError",),
    "RuntimeUnknownError": ("BaseRuntimeError",),
    "OOMError": ("RuntimeUserError",),
    "TaskInterruptedError": ("RuntimeUserError",),
    "TaskTimeoutError": ("RuntimeUserError",),
    "RetriesExhaustedError": ("RuntimeUserError",),
    "CustomError": ("RuntimeUserError",),
    "NotInTaskContextError": ("RuntimeUserError",),
    "ActionNotFoundError": ("RuntimeError",),
    "RuntimeDataValidationError": ("RuntimeUserError",),
    "DeploymentError": ("RuntimeUserError",),
    "ImageBuildError": ("RuntimeUserError",),
    "ModuleLoadError": ("RuntimeUserError",),
    "InlineIOMaxBytesBreached": ("RuntimeUserError",),
    "ActionAbortedError": ("RuntimeUserError",),
    "SyncTaskCallInAsyncContextError": ("RuntimeUserError",),
    "TraceDoesNotAllowNestedTasksError": ("RuntimeUserError",),
    # The published class is also an AssertionError; ours is not (bad data is no broken invariant).
    "TypeTransformerFailedError": ("TypeError", "ValueError"),
}

# Builtin bases our own errors promise on top of the root, for callers that catch the builtin.
OUR_BASES: Dict[str, Tuple[str, ...]] = {
    "ValidationError": ("ValueError",),
    "TypeValidationError": ("TypeError",),
    "PluginNotFoundError": ("ValueError", "TypeError", "LookupError"),
    "ActionNotFoundError": ("LookupError",),
    "TaskTimeoutError": ("TimeoutError",),
    "SecretNotFoundError": ("KeyError",),
    "RunNotFoundError": ("ValueError",),
    "InputBindingError": ("TypeValidationError", "ValueError"),
    "ArgumentKindError": ("ValidationError", "TypeError"),
    "ReportClosedError": ("RuntimeUserError",),
    "ContainerRuntimeError": ("RuntimeUserError",),
}


# Published extras that fail on import on purpose (flyte.extras says they are not available yet).
NOT_AVAILABLE_YET = {"flyte.extras.webhooks", "flyte.extras.shell", "flyte.extras.model_streamer"}


def _core_modules() -> List[str]:
    names = ["flyte"]
    for info in pkgutil.walk_packages(flyte.__path__, prefix="flyte."):
        names.append(info.name)
    return sorted(names)


def _core_error_classes() -> Dict[str, Type[BaseException]]:
    """Every public exception class defined in a module of core (private control-flow ones excepted)."""
    found: Dict[str, Type[BaseException]] = {}
    for mod_name in _core_modules():
        if mod_name in NOT_AVAILABLE_YET:
            continue
        module = importlib.import_module(mod_name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and not issubclass(obj, Warning)  # warnings are not errors
                and obj.__module__ == mod_name
                and not name.startswith("_")
            ):
                found[f"{mod_name}.{name}"] = obj
    return found


ERRORS = _core_error_classes()


def _by_name(name: str) -> Type[BaseException]:
    matches = [cls for qual, cls in ERRORS.items() if qual.rsplit(".", 1)[1] == name]
    assert len(matches) == 1, f"{name}: expected one error class of that name in core, found {matches}"
    return matches[0]


def _base(name: str) -> type:
    import builtins

    return getattr(builtins, name, None) or _by_name(name)


def test_the_walk_finds_the_errors():
    assert len(ERRORS) >= 25
    assert "flyte.errors.RuntimeUserError" in ERRORS
    assert "flyte.types._type_engine.TypeTransformerFailedError" in ERRORS or any(
        q.endswith(".TypeTransformerFailedError") for q in ERRORS
    )


@pytest.mark.parametrize("qualname", sorted(ERRORS))
def test_every_error_is_a_flyte_error_with_a_docstring(qualname):
    cls = ERRORS[qualname]
    assert issubclass(cls, FlyteError), f"{qualname} is not under flyte.errors.FlyteError: {cls.__mro__}"
    doc = vars(cls).get("__doc__")
    assert doc and doc.strip(), f"{qualname} has no docstring (error docstrings are user-facing text)"


@pytest.mark.parametrize("name", sorted(PUBLISHED_BASES))
def test_published_bases_are_kept(name):
    cls = _by_name(name)
    for base in PUBLISHED_BASES[name]:
        assert issubclass(cls, _base(base)), f"{name} must stay a {base}, as in the published SDK"


@pytest.mark.parametrize("name", sorted(OUR_BASES))
def test_builtin_bases_of_our_errors(name):
    cls = _by_name(name)
    for base in OUR_BASES[name]:
        assert issubclass(cls, _base(base)), f"{name} must be a {base}"


def test_type_transformer_failure_is_not_an_assertion_error():
    from flyte.types import TypeTransformerFailedError

    assert not issubclass(TypeTransformerFailedError, AssertionError)


def test_every_class_of_flyte_errors_is_in_its_all():
    listed = {n for n in flyte.errors.__all__ if inspect.isclass(getattr(flyte.errors, n))}
    defined = {
        n for n, obj in vars(flyte.errors).items()
        if inspect.isclass(obj) and obj.__module__ == "flyte.errors" and not n.startswith("_")
    }
    assert listed == defined


def test_warnings_are_documented_user_warnings():
    from flyte.errors import DistributionConflictWarning

    assert issubclass(DistributionConflictWarning, UserWarning)
    assert not issubclass(DistributionConflictWarning, FlyteError)  # a warning, never raised as an error
    assert (DistributionConflictWarning.__doc__ or "").strip()


def test_one_except_clause_catches_errors_of_both_families():
    from flyte.errors import RuntimeUserError, ValidationError

    caught = []
    for err in (ValidationError("cpu", -1, "a positive number"), RuntimeUserError("Boom", "it failed")):
        try:
            raise err
        except FlyteError as e:
            caught.append(type(e).__name__)
    assert caught == ["ValidationError", "RuntimeUserError"]
