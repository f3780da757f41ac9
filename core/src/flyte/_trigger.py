"""Triggers: named launch configurations of a task, optionally fired by a schedule.

``Trigger(name, automation=Cron("0 * * * *") | FixedRate(60) | None, inputs=...)``. Bind the time a
scheduled run was due to a task input with the ``TriggerTime`` sentinel in ``inputs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["Cron", "FixedRate", "Trigger", "TriggerTime", "validate_cron_expression"]


class _trigger_time:
    """Sentinel type of ``TriggerTime``."""

    def __repr__(self) -> str:
        return "flyte.TriggerTime"


TriggerTime = _trigger_time()
"""Use as an input value of a scheduled ``Trigger`` to receive the time the run was due."""

_DESCRIPTION_MAX = 255

_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
# (name, lowest, highest, names allowed) for the five standard fields; a sixth, leading field is seconds.
_CRON_FIELDS: Tuple[Tuple[str, int, int, bool], ...] = (
    ("minute", 0, 59, False),
    ("hour", 0, 23, False),
    ("day of month", 1, 31, True),  # L, W
    ("month", 1, 12, True),  # JAN..DEC
    ("day of week", 0, 7, True),  # SUN..SAT, L, #
)
_SECONDS_FIELD = ("second", 0, 59, False)
_TOKEN_RE = re.compile(r"^(\*|\?|[0-9A-Za-z#]+(?:-[0-9A-Za-z#]+)?)(?:/(\d+))?$")
_CRON_ALLOWED = (
    "a cron expression of 5 fields 'minute hour day-of-month month day-of-week' "
    "(or 6 with leading seconds), e.g. '0 * * * *', or one of " + ", ".join(_CRON_MACROS)
)


def _check_cron_field(expression: str, text: str, spec: Tuple[str, int, int, bool]) -> None:
    name, low, high, names_ok = spec
    for token in text.split(","):
        m = _TOKEN_RE.match(token)
        if not m:
            raise ValidationError("expression", expression, f"{_CRON_ALLOWED}; the {name} field {text!r} is malformed",
                                  owner="Cron")
        if m.group(2) is not None and int(m.group(2)) == 0:
            raise ValidationError("expression", expression, f"{_CRON_ALLOWED}; a step of 0 in the {name} field",
                                  owner="Cron")
        body = m.group(1)
        if body in ("*", "?"):
            continue
        for part in body.split("-"):
            if part.isdigit():
                if not low <= int(part) <= high:
                    raise ValidationError(
                        "expression", expression, f"{_CRON_ALLOWED}; the {name} must be {low}-{high}, got {part}",
                        owner="Cron",
                    )
            elif not names_ok:
                raise ValidationError(
                    "expression", expression, f"{_CRON_ALLOWED}; the {name} field takes numbers, got {part!r}",
                    owner="Cron",
                )


def validate_cron_expression(expression: str) -> None:
    """Check the shape of a cron expression (field count, tokens, numeric ranges); raise ValidationError."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValidationError("expression", expression, _CRON_ALLOWED, owner="Cron")
    text = expression.strip()
    if text.startswith("@"):
        if text not in _CRON_MACROS:
            raise ValidationError("expression", expression, _CRON_ALLOWED, owner="Cron")
        return
    fields = text.split()
    if len(fields) == 5:
        specs = _CRON_FIELDS
    elif len(fields) == 6:
        specs = (_SECONDS_FIELD, *_CRON_FIELDS)
    else:
        raise ValidationError("expression", expression, f"{_CRON_ALLOWED}; it has {len(fields)} fields", owner="Cron")
    for field_text, spec in zip(fields, specs):
        _check_cron_field(expression, field_text, spec)


def _check_timezone(tz: object) -> None:
    if not isinstance(tz, str) or not tz:
        raise ValidationError("timezone", tz, "an IANA time zone name such as 'UTC' or 'Europe/London'", owner="Cron")
    if tz == "UTC":
        return
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if zoneinfo.available_timezones():  # only judge when this machine has a time zone database
            raise ValidationError(
                "timezone", tz, "an IANA time zone name such as 'UTC' or 'Europe/London'", owner="Cron"
            ) from None


@dataclass(frozen=True)
class Cron:
    """A cron schedule for a ``Trigger``.

    Args:
        expression: ``"minute hour day-of-month month day-of-week"``, e.g. ``"0 * * * *"`` for hourly,
            ``"*/5 * * * *"`` every five minutes; a leading seconds field and ``@daily``-style macros are
            accepted too.
        timezone: The IANA time zone the schedule is read in. Default ``"UTC"``.
    """

    expression: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        validate_cron_expression(self.expression)
        _check_timezone(self.timezone)

    @property
    def timezone_expression(self) -> str:
        """The expression with its time zone prefix, ``"CRON_TZ=<tz> <expression>"``."""
        return f"CRON_TZ={self.timezone} {self.expression}"

    def __str__(self) -> str:
        return f"Cron Trigger: {self.timezone_expression}"


@dataclass(frozen=True)
class FixedRate:
    """A fixed-interval schedule for a ``Trigger``.

    Args:
        interval_minutes: Minutes between runs (at least 1).
        start_time: When the first run is due; default: one interval after activation.
    """

    interval_minutes: int
    start_time: Optional[datetime] = None

    def __post_init__(self) -> None:
        m = self.interval_minutes
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValidationError("interval_minutes", m, "an int number of minutes, at least 1", owner="FixedRate")
        if self.start_time is not None and not isinstance(self.start_time, datetime):
            raise TypeValidationError("start_time", self.start_time, "a datetime or None", owner="FixedRate")

    def __str__(self) -> str:
        return f"FixedRate Trigger: every {self.interval_minutes} minutes"


def _check_str_map(field: str, value: Any, owner: str) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise TypeValidationError(field, value, "a dict of str to str", owner=owner)


@dataclass(frozen=True)
class Trigger:
    """A named launch configuration of a task, fired by its automation or on demand.

    Example::

        hourly = flyte.Trigger("hourly", flyte.Cron("0 * * * *"), inputs={"at": flyte.TriggerTime, "x": 1})

        @env.task(triggers=[hourly])
        async def report(at: datetime, x: int) -> str: ...

    Args:
        name: Name of the trigger, unique per task.
        automation: ``Cron(...)``, ``FixedRate(...)``, or None for a trigger fired only on demand.
        description: Up to 255 characters (longer ones are shortened).
        auto_activate: Activate the trigger when it is deployed. Default True.
        inputs: Input values of the triggered runs; ``TriggerTime`` binds the due time (schedules only).
        env_vars: Environment variables of the triggered runs.
        interruptible: Run on interruptible capacity; None keeps the task's setting.
        overwrite_cache: Ignore cached results in the triggered runs.
        queue: Queue of the triggered runs.
        max_action_concurrency: Cap on concurrent actions in a triggered run: 0 (the default of the
            platform) or at least 2 (1 would deadlock a parent waiting for its children).
        labels: Labels of the triggered runs.
        annotations: Annotations of the triggered runs.
        custom_context: Key/values every task of a triggered run sees in ``flyte.ctx().custom_context``.
    """

    name: str
    automation: Union[Cron, FixedRate, None] = None
    description: str = ""
    auto_activate: bool = True
    inputs: Optional[Dict[str, Any]] = None
    env_vars: Optional[Dict[str, str]] = None
    interruptible: Optional[bool] = None
    overwrite_cache: bool = False
    queue: Optional[str] = None
    max_action_concurrency: Optional[int] = None
    labels: Optional[Mapping[str, str]] = None
    annotations: Optional[Mapping[str, str]] = None
    custom_context: Optional[Mapping[str, str]] = None

    def __post_init__(self) -> None:
        owner = f"Trigger {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValidationError("name", self.name, "a non-empty name", owner="Trigger")
        if self.automation is not None and not isinstance(self.automation, (Cron, FixedRate)):
            raise TypeValidationError("automation", self.automation, "flyte.Cron, flyte.FixedRate or None", owner=owner)
        if not isinstance(self.description, str):
            raise TypeValidationError("description", self.description, "str", owner=owner)
        if len(self.description) > _DESCRIPTION_MAX:
            object.__setattr__(self, "description", self.description[: _DESCRIPTION_MAX - 3] + "...")
        if self.inputs is not None:
            if not isinstance(self.inputs, Mapping) or not all(isinstance(k, str) for k in self.inputs):
                raise TypeValidationError("inputs", self.inputs, "a dict of input name to value", owner=owner)
            timed = [k for k, v in self.inputs.items() if v is TriggerTime]
            if timed and self.automation is None:
                raise ValidationError(
                    f"inputs[{timed[0]!r}]", TriggerTime, "TriggerTime only on a Cron or FixedRate trigger", owner=owner
                )
            if len(timed) > 1:
                raise ValidationError("inputs", timed, "TriggerTime bound to at most one input", owner=owner)
        for name in ("env_vars", "labels", "annotations", "custom_context"):
            _check_str_map(name, getattr(self, name), owner)
        mac = self.max_action_concurrency
        if mac is not None and (isinstance(mac, bool) or not isinstance(mac, int) or mac < 0 or mac == 1):
            raise ValidationError(
                "max_action_concurrency", mac, "None, 0 (the platform default) or an int of at least 2", owner=owner
            )

    @property
    def trigger_time_input(self) -> Optional[str]:
        """The input that receives the due time (``TriggerTime``), if any."""
        for k, v in (self.inputs or {}).items():
            if v is TriggerTime:
                return k
        return None

    @classmethod
    def _scheduled(
        cls, expression: str, trigger_time_input_key: Optional[str], inputs: Optional[Dict[str, Any]], **kwargs: Any
    ) -> "Trigger":
        merged: Dict[str, Any] = {}
        if trigger_time_input_key is not None:
            merged[trigger_time_input_key] = TriggerTime
        merged.update(inputs or {})
        return cls(automation=Cron(expression), inputs=merged or None, **kwargs)

    @classmethod
    def minutely(
        cls, trigger_time_input_key: Optional[str] = None, *, name: str = "minutely",
        description: str = "A trigger that runs every minute", inputs: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> "Trigger":
        """A trigger firing every minute; ``trigger_time_input_key`` names the input receiving the due time.
        Other keyword arguments are those of ``Trigger``."""
        return cls._scheduled("* * * * *", trigger_time_input_key, inputs, name=name, description=description, **kwargs)

    @classmethod
    def hourly(
        cls, trigger_time_input_key: Optional[str] = None, *, name: str = "hourly",
        description: str = "A trigger that runs every hour", inputs: Optional[Dict[str, Any]] = None, **kwargs: Any,
    ) -> "Trigger":
        """A trigger firing at minute 0 of every hour (see :meth:`minutely` for the arguments)."""
        return cls._scheduled("0 * * * *", trigger_time_input_key, inputs, name=name, description=description, **kwargs)

    @classmethod
    def daily(
        cls, trigger_time_input_key: Optional[str] = None, *, name: str = "daily",
        description: str = "A trigger that runs daily at midnight", inputs: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> "Trigger":
        """A trigger firing every day at midnight (see :meth:`minutely` for the arguments)."""
        return cls._scheduled("0 0 * * *", trigger_time_input_key, inputs, name=name, description=description, **kwargs)

    @classmethod
    def weekly(
        cls, trigger_time_input_key: Optional[str] = None, *, name: str = "weekly",
        description: str = "A trigger that runs weekly on Sundays at midnight", inputs: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> "Trigger":
        """A trigger firing every Sunday at midnight (see :meth:`minutely` for the arguments)."""
        return cls._scheduled("0 0 * * 0", trigger_time_input_key, inputs, name=name, description=description, **kwargs)

    @classmethod
    def monthly(
        cls, trigger_time_input_key: Optional[str] = None, *, name: str = "monthly",
        description: str = "A trigger that runs monthly on the 1st at midnight",
        inputs: Optional[Dict[str, Any]] = None, **kwargs: Any,
    ) -> "Trigger":
        """A trigger firing on the 1st of every month at midnight (see :meth:`minutely` for the arguments)."""
        return cls._scheduled("0 0 1 * *", trigger_time_input_key, inputs, name=name, description=description, **kwargs)
