"""Task caching: ``Cache``, the ``CachePolicy`` protocol and the cache version of a task.

A cached result is found by (task name, cache version, hash of the inputs). The version is the
user's ``version_override`` when given, else a hash of what the cache policies report for the
task function (by default, its source). Changing the function body therefore misses the old
cache entries, while reformatting or editing comments does not.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, List, Literal, Optional, Protocol, Tuple, Union, runtime_checkable

from flyte.errors import TypeValidationError, ValidationError

if TYPE_CHECKING:
    from flyte._image import Image
    from flyte.models import CodeBundle

__all__ = [
    "Cache",
    "CacheBehavior",
    "CachePolicy",
    "CacheRequest",
    "FunctionBodyPolicy",
    "FunctionSourcePolicy",
    "VersionParameters",
    "cache_from_request",
    "compute_cache_version",
    "get_default_policies",
]

CacheBehavior = Literal["auto", "override", "disable"]
_BEHAVIORS: Tuple[str, ...] = ("auto", "override", "disable")

# Spellings people reach for; mapping them beats failing on ``cache="off"``.
_BEHAVIOR_ALIASES = {
    "enable": "auto",
    "enabled": "auto",
    "on": "auto",
    "true": "auto",
    "yes": "auto",
    "off": "disable",
    "disabled": "disable",
    "false": "disable",
    "no": "disable",
    "none": "disable",
}


@dataclass
class VersionParameters:
    """What a cache policy may look at to compute a version.

    Args:
        func: The task function (None for tasks without Python code).
        image: The task's container image, as a URI or an ``Image``.
        code_bundle: The code bundle the task runs from, when there is one.
    """

    func: Optional[Callable[..., Any]]
    image: Optional[Union[str, "Image"]] = None
    code_bundle: Optional["CodeBundle"] = None


@runtime_checkable
class CachePolicy(Protocol):
    """Computes a cache version for a task.

    Implement ``get_version(salt, params) -> str``; the result must be the same for the same task
    code in every process (so no ``hash()`` of strings, no object ids). Example::

        class GitCommitPolicy:
            def get_version(self, salt: str, params: VersionParameters) -> str:
                commit = subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
                return hashlib.sha256((salt + commit).encode()).hexdigest()
    """

    def get_version(self, salt: str, params: VersionParameters) -> str:
        """Return a version string for ``params``, mixing in ``salt``."""
        ...


def _strip_decorators(tree: ast.AST) -> ast.AST:
    # The decorator line holds the task's settings, not its code; a new timeout must not invalidate the cache.
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            node.decorator_list = []
            break
    return tree


def _function_fingerprint(func: Callable[..., Any]) -> bytes:
    func = inspect.unwrap(func)
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = _strip_decorators(ast.parse(source))
        return ast.dump(tree, include_attributes=False).encode("utf-8")
    except (OSError, TypeError, SyntaxError, IndentationError):
        pass
    # No source (a REPL, exec'd code, a lambda in an expression): fall back to the compiled code.
    code = getattr(func, "__code__", None)
    if code is None:
        raise TypeValidationError("func", func, "a Python function whose source or code object is available")
    return b"|".join(
        [code.co_code, repr(code.co_consts).encode(), repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    )


class FunctionBodyPolicy:
    """The default cache policy: a SHA-256 of the task function's code and the salt.

    The code is compared as a syntax tree, so whitespace, comments and the decorator line do not
    change the version; any change to the signature or the body does.
    """

    def get_version(self, salt: str, params: VersionParameters) -> str:
        """Hash the function of ``params`` together with ``salt`` (``""`` when there is no function)."""
        if params.func is None:
            return ""
        digest = hashlib.sha256(_function_fingerprint(params.func))
        digest.update(salt.encode("utf-8"))
        return digest.hexdigest()

    def __repr__(self) -> str:
        return "FunctionBodyPolicy()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


FunctionSourcePolicy = FunctionBodyPolicy
"""Another name of :class:`FunctionBodyPolicy`."""


def get_default_policies() -> List[CachePolicy]:
    """The policies used when a ``Cache`` names none: ``[FunctionBodyPolicy()]``."""
    return [FunctionBodyPolicy()]


@dataclass
class Cache:
    """Cache settings of a task.

    Args:
        behavior: ``"auto"``: cache, versioned by the policies (by default a hash of the function's
            code); ``"override"``: cache, versioned by ``version_override``; ``"disable"``: always run.
        version_override: An explicit cache version; when set it is the version, whatever the policies say.
        serialize: When True, concurrent runs with the same inputs wait for one of them and reuse its result.
        ignored_inputs: Input names left out of the cache key (a name or a tuple of names).
        salt: Mixed into the version, to start a fresh cache without changing the code.
        policies: ``CachePolicy`` objects (or one) computing the version; defaults to ``[FunctionBodyPolicy()]``.
        max_age: How old a cached result may be and still be reused, as a ``timedelta`` or seconds; None
            for no limit.
    """

    behavior: CacheBehavior
    version_override: Optional[str] = None
    serialize: bool = False
    ignored_inputs: Union[Tuple[str, ...], str] = field(default_factory=tuple)
    salt: str = ""
    policies: Optional[Union[List[CachePolicy], CachePolicy]] = None
    max_age: Union[timedelta, int, None] = None

    def __post_init__(self) -> None:
        owner = "Cache"
        if isinstance(self.behavior, str) and self.behavior not in _BEHAVIORS:
            self.behavior = _BEHAVIOR_ALIASES.get(self.behavior.strip().lower(), self.behavior)  # type: ignore[assignment]
        if self.behavior not in _BEHAVIORS:
            raise ValidationError("behavior", self.behavior, f"one of {list(_BEHAVIORS)}", owner=owner)
        if self.version_override is not None and (not isinstance(self.version_override, str) or not self.version_override):
            raise ValidationError("version_override", self.version_override, "a non-empty string or None", owner=owner)
        if isinstance(self.version_override, str) and not self.version_override.strip():
            from flyte.errors import warn_likely_mistake

            warn_likely_mistake(
                "version_override", self.version_override,
                "a version with visible characters (a blank one is used as given, and is easily mistaken for none)",
                owner=owner,
            )
        if not isinstance(self.serialize, bool):
            raise TypeValidationError("serialize", self.serialize, "bool", owner=owner)
        if not isinstance(self.salt, str):
            raise TypeValidationError("salt", self.salt, "str", owner=owner)
        ignored = (self.ignored_inputs,) if isinstance(self.ignored_inputs, str) else self.ignored_inputs
        if not isinstance(ignored, (tuple, list)) or not all(isinstance(n, str) for n in ignored):
            raise TypeValidationError("ignored_inputs", self.ignored_inputs, "an input name or a tuple of names", owner=owner)
        self._ignored_inputs: Tuple[str, ...] = tuple(ignored)
        if self.max_age is not None:
            if isinstance(self.max_age, bool) or not isinstance(self.max_age, (int, timedelta)):
                raise TypeValidationError("max_age", self.max_age, "a timedelta, an int of seconds, or None", owner=owner)
            if isinstance(self.max_age, int):
                self.max_age = timedelta(seconds=self.max_age)
            if self.max_age < timedelta(0):
                raise ValidationError("max_age", self.max_age, "a duration of zero or more", owner=owner)
        if self.policies is None:
            self.policies = get_default_policies()
        elif not isinstance(self.policies, (list, tuple)):
            self.policies = [self.policies]
        else:
            self.policies = list(self.policies)
        for p in self.policies:
            if not callable(getattr(p, "get_version", None)):
                raise TypeValidationError("policies", p, "objects with a get_version(salt, params) method", owner=owner)
        if self.is_enabled() and self.version_override is None and not self.policies:
            raise ValidationError("policies", self.policies, "at least one policy when version_override is not set",
                                  owner=owner)

    def is_enabled(self) -> bool:
        """True unless the behavior is ``"disable"``."""
        return self.behavior != "disable"

    def get_ignored_inputs(self) -> Tuple[str, ...]:
        """The input names left out of the cache key."""
        return self._ignored_inputs

    def get_version(self, params: Optional[VersionParameters] = None) -> str:
        """The cache version for ``params``: ``""`` when disabled, ``version_override`` when set, else
        the SHA-256 of the salt and every policy's version."""
        if not self.is_enabled():
            return ""
        if self.version_override is not None:
            return self.version_override
        if params is None:
            raise ValidationError("params", None, "VersionParameters when version_override is not set", owner="Cache")
        bundle = params.code_bundle
        if bundle is not None and getattr(bundle, "pkl", None):
            # A pickled bundle has no source to read; its own version already identifies the code.
            return bundle.computed_version
        digest = hashlib.sha256(b"flyte-cache-v1\0")
        digest.update(self.salt.encode("utf-8") + b"\0")
        for policy in self.policies or ():  # type: ignore[union-attr]
            try:
                part = policy.get_version(self.salt, params)
            except Exception as e:
                raise ValidationError(
                    "policies", policy, f"a policy whose get_version works; it raised {type(e).__name__}: {e}",
                    owner="Cache",
                ) from e
            if not isinstance(part, str):
                raise TypeValidationError("get_version()", part, "str", owner=type(policy).__name__)
            digest.update(part.encode("utf-8") + b"\0")
        return digest.hexdigest()


CacheRequest = Union[CacheBehavior, Cache]
"""What ``cache=`` accepts: ``"auto"``, ``"override"``, ``"disable"`` or a ``Cache``."""


def cache_from_request(cache: CacheRequest) -> Cache:
    """Turn a ``cache=`` argument into a ``Cache`` (``"auto"`` -> ``Cache(behavior="auto")``)."""
    if isinstance(cache, Cache):
        return cache
    if isinstance(cache, str):
        return Cache(behavior=cache)  # type: ignore[arg-type]
    raise TypeValidationError("cache", cache, 'one of "auto", "override", "disable", or a flyte.Cache')


def compute_cache_version(
    cache: CacheRequest,
    func: Optional[Callable[..., Any]],
    image: Optional[Union[str, "Image"]] = None,
    code_bundle: Optional["CodeBundle"] = None,
) -> str:
    """The cache version of a task function under ``cache`` (``""`` when caching is disabled)."""
    return cache_from_request(cache).get_version(VersionParameters(func=func, image=image, code_bundle=code_bundle))
