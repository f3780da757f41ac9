"""Kubernetes resource quantities: parse, validate, compare and print them canonically.

A quantity is ``<number><suffix>``: the number may be signed and fractional (``1``, ``.5``,
``1.5``, ``-2``), the suffix is a binary SI one (``Ki Mi Gi Ti Pi Ei``), a decimal SI one
(``n u m k M G T P E`` or none) or a decimal exponent (``e3``, ``E-2``). The grammar and the
canonical printing follow the Kubernetes API machinery, so what this module accepts the API
server accepts, and what it prints is what ``kubectl get -o yaml`` shows back.

Values are held as :class:`decimal.Decimal` so that ``"0.1"`` and ``"100m"`` compare equal
exactly; binary floating point would not.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext
from typing import Any, Literal, Tuple, Union

from flyte.errors import ValidationError

__all__ = [
    "QuantityFormat",
    "QuantityValue",
    "canonical_quantity",
    "compare_quantities",
    "is_quantity",
    "parse_quantity",
    "validate_quantity",
]

QuantityValue = Union[str, int, float]
QuantityFormat = Literal["BinarySI", "DecimalSI", "DecimalExponent"]

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_BITS = {v: k for k, v in _BINARY.items()}

# The exponent form must be tried before the bare "E" (exa) suffix, or "1E3" would not match.
_QUANTITY_RE = re.compile(
    r"^(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?P<suffix>[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)

ALLOWED_FORMS = (
    "a Kubernetes quantity: a number with an optional suffix, e.g. 2, 0.5, '500m', '1.5', "
    "'512Mi', '1Gi', '10G', '1e3' (suffixes Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<exponent>)"
)

# Kubernetes keeps nine fractional digits (nano); anything finer is rounded up to 1n.
_NANO = Decimal("1e-9")


def _split(value: QuantityValue) -> Tuple[Decimal, QuantityFormat]:
    """Return the exact value and the format its spelling implies, or raise ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a quantity")
    if isinstance(value, int):
        return Decimal(value), "DecimalSI"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        # repr() gives the shortest decimal that round-trips, so 0.1 means 0.1 and not 0.1000000000000000055
        return Decimal(repr(value)), "DecimalSI"
    if not isinstance(value, str):
        raise ValueError(f"a {type(value).__name__} is not a quantity")
    m = _QUANTITY_RE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a quantity")
    num = Decimal(m.group("num"))
    suffix = m.group("suffix") or ""
    with localcontext() as ctx:
        ctx.prec = 100
        if suffix in _BINARY:
            return num * (Decimal(2) ** _BINARY[suffix]), "BinarySI"
        if suffix in _DECIMAL:
            return num.scaleb(_DECIMAL[suffix]), "DecimalSI"
        try:
            exp = int(suffix[1:])
        except ValueError as e:  # pragma: no cover - the regex guarantees digits
            raise ValueError(f"{value!r} has a bad exponent") from e
        if abs(exp) > 1000:
            raise ValueError(f"{value!r} has an exponent out of range")
        return num.scaleb(exp), "DecimalExponent"


def parse_quantity(value: QuantityValue) -> Decimal:
    """Return the exact numeric value of a quantity (bytes, cores, ...).

    ``"500m"`` -> ``Decimal("0.5")``, ``"1Ki"`` -> ``Decimal("1024")``, ``2`` -> ``Decimal("2")``.
    Raises ``ValueError`` when ``value`` is not a quantity.
    """
    return _split(value)[0]


def is_quantity(value: Any) -> bool:
    """True when ``value`` is an int, a finite float or a string that Kubernetes accepts as a quantity."""
    try:
        _split(value)
    except (ValueError, InvalidOperation):
        return False
    return True


def validate_quantity(
    field: str,
    value: Any,
    *,
    owner: str | None = None,
    allow_negative: bool = False,
) -> Decimal:
    """Check that ``value`` is a quantity (non-negative unless ``allow_negative``) and return its value.

    Raises :class:`flyte.errors.ValidationError` naming ``field``, the value and the accepted forms.
    """
    try:
        amount = parse_quantity(value)
    except (ValueError, InvalidOperation):
        raise ValidationError(field, value, ALLOWED_FORMS, owner=owner) from None
    if amount < 0 and not allow_negative:
        raise ValidationError(field, value, "a quantity that is zero or more", owner=owner)
    return amount


def compare_quantities(a: QuantityValue, b: QuantityValue) -> int:
    """Compare two quantities by value: -1 when ``a < b``, 0 when equal, 1 when ``a > b``.

    ``compare_quantities("1Gi", "1024Mi") == 0`` and ``compare_quantities("0.5", "500m") == 0``.
    """
    x, y = parse_quantity(a), parse_quantity(b)
    return (x > y) - (x < y)


def _round_up_to_nano(amount: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 100
        return amount.quantize(_NANO, rounding=ROUND_CEILING)


def _decimal_mantissa_exponent(amount: Decimal) -> Tuple[int, int]:
    """Write ``amount`` as ``mantissa * 10**exp`` with ``exp`` a multiple of 3, as large as possible
    while the mantissa stays an integer; ``exp >= -9`` (finer values were rounded up to nano)."""
    with localcontext() as ctx:
        ctx.prec = 100
        if amount == 0:
            return 0, 0
        exp = -9
        mantissa = int(amount.scaleb(9))
        while mantissa % 1000 == 0:
            mantissa //= 1000
            exp += 3
        return mantissa, exp


def canonical_quantity(value: QuantityValue) -> str:
    """Print a quantity the way the Kubernetes API server does.

    The value is kept exactly (values finer than 1n are rounded up to 1n), no fractional digits are
    printed, and the suffix is the largest one of the spelling's family that keeps the number whole:
    ``"1.5"`` -> ``"1500m"``, ``0.5`` -> ``"500m"``, ``"2000m"`` -> ``"2"``, ``"1024Mi"`` -> ``"1Gi"``,
    ``"1000"`` -> ``"1k"``. Binary spellings whose value is below 1024 or not a whole number are
    printed in decimal SI (``"0.5Ki"`` -> ``"512"``). Raises ``ValueError`` for a non-quantity.
    """
    amount, fmt = _split(value)
    amount = _round_up_to_nano(amount)
    if fmt == "BinarySI":
        whole = amount == amount.to_integral_value()
        if abs(amount) >= 1024 and whole:
            n = int(amount)
            bits = 0
            while bits < 60 and n % (1 << (bits + 10)) == 0:
                bits += 10
            if bits == 0:
                return str(n)
            return f"{n >> bits}{_BINARY_BY_BITS[bits]}"
        fmt = "DecimalSI"
    mantissa, exp = _decimal_mantissa_exponent(amount)
    if mantissa == 0:
        return "0"
    if fmt == "DecimalExponent":
        return f"{mantissa}" if exp == 0 else f"{mantissa}e{exp}"
    if exp > 18:  # beyond exa there is no suffix: keep "E" and grow the mantissa
        return f"{mantissa * 10 ** (exp - 18)}E"
    return f"{mantissa}{_DECIMAL_BY_EXP[exp]}"
