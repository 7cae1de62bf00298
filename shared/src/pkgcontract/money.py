"""Money arithmetic (docs/contract.md §2): bounded where it comes in, exact inside.

Money in a command or a usage record has at most `INPUT_DIGITS` digits before the point and
`PLACES` after it. Everything computed from it (products, prorations, credits, sums, totals) is
exact whatever its size: Python's default decimal context keeps 28 significant digits and
rounds silently past them (a retail of 18 digits times a quantity of 100,000 lost its last
places), so no service does arithmetic on money with the operators. It goes through this
module instead:

- `times`, `plus`, `minus`, `total` run in `EXACT`, a context as wide as the decimal module
  allows, with every signal that would mean a rounding (Inexact, Rounded) trapped: an inexact
  result raises instead of being published;
- `prorate` and `credit` (`amount x part / whole`, half-even to 6 places) divide in integers,
  on the amount's exact ratio, with the half-even rule written out: no context takes part;
- `money_str` writes money in plain notation, never an exponent.

Published amounts may have up to `PUBLISHED_DIGITS` digits before the point (what the schemas
allow): far beyond any product of bounded inputs (10 digits x a quantity of 100,000 is 15).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
)

PLACES = 6
"""Decimal places money may have (docs/contract.md §2)."""
INPUT_DIGITS = 10
"""Digits before the point that money in a command or a usage record may have."""
INPUT_LIMIT = 10**INPUT_DIGITS
"""Money in a command or usage record lies strictly between -INPUT_LIMIT and INPUT_LIMIT."""
PUBLISHED_DIGITS = 24
"""Digits before the point the schemas allow for any amount the system publishes."""

EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    rounding=ROUND_HALF_EVEN,
    traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow],
)
"""Where money is added, subtracted and multiplied: nothing rounds, and a result that would
have to raises (decimal.Inexact) rather than pass. Never divide in it (a division that does
not end would try to fill MAX_PREC digits): `share` divides in integers."""

_ZEROS_ONLY = Context(
    prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation]
)
"""Where trailing zeros may be dropped (decimal.Rounded) but no digit that counts (Inexact)."""

ZERO = Decimal(0)
_MULTIPLY = EXACT.multiply
_UNIT = Decimal(1).scaleb(-PLACES)  # 0.000001


def times(amount: Decimal, quantity: int) -> Decimal:
    """`amount x quantity`, exactly."""
    return _MULTIPLY(amount, Decimal(quantity))  # a Decimal converts faster than an int here


def plus(a: Decimal, b: Decimal) -> Decimal:
    """`a + b`, exactly."""
    return EXACT.add(a, b)


def minus(a: Decimal, b: Decimal) -> Decimal:
    """`a - b`, exactly."""
    return EXACT.subtract(a, b)


def total(amounts: Iterable[Decimal]) -> Decimal:
    """The exact sum of `amounts` (0 for none). Never rounded: a total keeps every place of
    its terms."""
    out = ZERO
    for amount in amounts:
        out = EXACT.add(out, amount)
    return out


def half_even_div(numerator: int, denominator: int) -> int:
    """`numerator / denominator` rounded to an integer, half to even (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)  # floor: 0 <= remainder < denominator
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def share(amount: Decimal, part: int, whole: int, places: int = PLACES) -> Decimal:
    """`amount x part / whole`, rounded half-even to `places` (6) decimal places, exactly:
    the amount as a ratio of integers (Decimal.as_integer_ratio is exact), one integer
    division. The result always has `places` places ("42.000000")."""
    if whole <= 0:
        raise ValueError(f"a share of {whole} parts")
    numerator, denominator = amount.as_integer_ratio()
    units = half_even_div(numerator * part * 10**places, denominator * whole)
    return Decimal(units).scaleb(-places, context=EXACT)


def prorate(amount: Decimal, days: int, of_days: int) -> Decimal:
    """A part-period's money (docs/contract.md §7): `amount x days / of_days`, half-even to 6
    places."""
    return share(amount, days, of_days)


def credit(amount: Decimal, covered: int, duration: int) -> Decimal:
    """Money back for a part (docs/contract.md §6, §7): `amount x covered / duration`, half-even to
    6 places; 0.000000 for a call of no seconds."""
    if duration == 0:
        return ZERO.quantize(_UNIT)
    return share(amount, covered, duration)


def quantized(amount: Decimal, places: int = PLACES) -> Decimal:
    """`amount` rounded half-even to `places` decimal places, exactly whatever its size (for
    showing; what is published never needs it)."""
    return share(amount, 1, 1, places)


def money_str(amount: Decimal) -> str:
    """Money as the contract writes it: plain decimal notation, never an exponent
    (Decimal("1E+3") is "1000"), every place kept; zeros past 6 places dropped (a digit that
    counts there raises decimal.Inexact: such an amount is not money)."""
    text = format(amount, "f")
    point = text.find(".")
    if point >= 0 and len(text) - point - 1 > PLACES:
        return format(amount.quantize(_UNIT, context=_ZEROS_ONLY), "f")
    return text
