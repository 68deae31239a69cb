"""Probability distributions for durations and amounts, as validated scenario objects.

Each distribution is a frozen pydantic model that knows how to draw a vector of samples and
its mean: the scenario file *is* the distribution, so there is no second representation to keep
in sync. They are generic over the value type, so the same classes serve durations (written with
units, stored in hours) and amounts (plain numbers, e.g. deal values in currency).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..base.units import MAX_DURATION, parse_duration

V = TypeVar("V")

Z90 = 1.2815515655446004  # standard normal 90th percentile

MAX_AMOUNT = 10**12
"""The largest amount of money (a deal value, a cost): a trillion in any currency (an int, as
MAX_DURATION: the distribution classes are pickled by a name that holds it)."""
MAX_CV = 30.0
"""The largest coefficient of variation of a lognormal or gamma distribution."""
MAX_P90_RATIO = 1000.0
"""The largest ratio p90 / median of a lognormal distribution."""
MAX_WEIGHT = 1e9
"""The largest relative weight of an empirical value."""
MAX_VALUES = 100_000
"""The most observed values an empirical distribution may list."""

Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, le=MAX_DURATION)]
"""A non-negative duration written with a unit, at most 10 years; stored in hours."""
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT)]
"""A non-negative plain number, such as a deal value in currency, at most 1e12."""


_DIST = "Which distribution: the tag that selects the form."
_CV = "ratio (standard deviation / mean)"


class FieldError(ValueError):
    """A problem that belongs to one named field, ``loc`` relative to the model that raised it."""

    def __init__(self, loc: tuple[str | int, ...], message: str, got: Any) -> None:
        super().__init__(message)
        self.loc = loc
        self.got = got


class FieldErrors(ValueError):
    """Several :class:`FieldError` found by one check across sections: each is its own line,
    so that a file with three dates outside its period is mended in one round, not three."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def _has(tp: Any, wanted: Callable[[Any], bool]) -> bool:
    """Whether ``wanted`` holds for the annotation or anything nested in it (args, metadata)."""
    if wanted(tp):
        return True
    return any(_has(arg, wanted) for arg in get_args(tp))


def _is_number_type(tp: Any) -> bool:
    return tp is int or tp is float


def _is_duration_check(tp: Any) -> bool:
    return isinstance(tp, BeforeValidator) and tp.func is parse_duration


class Frozen(BaseModel):
    """Base of every scenario object: immutable, and unknown keys are errors."""

    # NaN and infinity are never a sensible input: a NaN threshold admits nobody and compares
    # false with everything, an infinite rate cannot be drawn from. Refused everywhere.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_true_or_false(cls, data: Any) -> Any:
        """YAML reads ``true`` as a boolean, and Python counts it as 1: ``headcount: true``
        would be one rep. A number field (or a list or mapping of numbers) refuses it."""
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            key = field.alias or name
            value = data.get(key)
            if (
                isinstance(value, str)
                and field.annotation in (int, float)
                and not any(_has(k, _is_duration_check) for k in field.metadata)
            ):
                # A quoted number ("2") is text in YAML: taking it as 2 would hide a slip that
                # a plain number field cannot mean (durations and distributions read text).
                raise FieldError((key,), "write a plain number, without quotes or a unit", value)
            if not isinstance(value, bool | list | tuple | dict):
                continue
            kinds = (field.annotation, *field.metadata)
            if _has(field.annotation, lambda t: t is bool) or not any(
                _has(k, _is_number_type) for k in kinds
            ):
                continue
            if any(_has(k, _is_duration_check) for k in kinds):
                continue  # a duration refuses it itself, asking for a unit
            if isinstance(value, bool):
                raise FieldError((key,), "write a number, not true or false", value)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for sub, item in items:
                if isinstance(sub, bool):
                    raise FieldError((key,), "write a number, not true or false", sub)
                if isinstance(item, bool):
                    raise FieldError((key, sub), "write a number, not true or false", item)
        return data


def _above_zero(value: Any) -> Any:
    """A mean of 0 would make every draw 0: almost surely a slip, so it is refused."""
    if float(value) <= 0:
        raise ValueError(f"must be above 0 (got {value!r})")
    return value


class Fixed(Frozen, Generic[V]):
    """Always the same value (a plain value in a scenario file means this)."""

    dist: Literal["fixed"] = Field(default="fixed", description=_DIST)
    value: V = Field(description="The value every draw takes.")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, float(self.value))  # type: ignore[arg-type]

    @property
    def mean(self) -> float:
        return float(self.value)  # type: ignore[arg-type]


class Exponential(Frozen, Generic[V]):
    """Memoryless; what queueing theory (Erlang C/A) assumes for handling times."""

    dist: Literal["exponential"] = Field(description=_DIST)
    mean_value: V = Field(
        alias="mean", description="Mean, above 0; it is also the standard deviation."
    )

    _positive = field_validator("mean_value")(_above_zero)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(float(self.mean_value), size)  # type: ignore[arg-type]

    @property
    def mean(self) -> float:
        return float(self.mean_value)  # type: ignore[arg-type]


class Lognormal(Frozen, Generic[V]):
    """Right-skewed, the usual shape of call and cycle times: give median and p90, or mean and cv."""

    dist: Literal["lognormal"] = Field(description=_DIST)
    median: V | None = Field(default=None, description="Median (50th percentile); goes with p90.")
    p90: V | None = Field(
        default=None,
        description="90th percentile, above the median and at most 1000 x the median; goes "
        "with median.",
    )
    mean_value: V | None = Field(default=None, alias="mean", description="Mean; goes with cv.")
    cv: float | None = Field(
        default=None,
        gt=0,
        le=MAX_CV,
        description="Coefficient of variation (standard deviation / mean); goes with mean.",
        json_schema_extra={"unit": _CV},
    )

    @model_validator(mode="after")
    def _one_parametrisation(self) -> Lognormal[V]:
        by_quantiles = self.median is not None or self.p90 is not None
        by_moments = self.mean_value is not None or self.cv is not None
        if by_quantiles == by_moments:
            raise ValueError("give either 'median' and 'p90', or 'mean' and 'cv'")
        if by_quantiles:
            if self.median is None or self.p90 is None:
                raise ValueError("'median' and 'p90' go together")
            if not float(self.p90) > float(self.median) > 0:  # type: ignore[arg-type]
                raise ValueError("need 0 < median < p90")
            ratio = float(self.p90) / float(self.median)  # type: ignore[arg-type]
            if ratio > MAX_P90_RATIO:
                # A wider spread overflows the mean (exp of sigma squared) for no real data.
                raise ValueError(
                    f"p90 must be at most {MAX_P90_RATIO:g} x the median (got {ratio:.4g} x)"
                )
        else:
            if self.mean_value is None or self.cv is None:
                raise ValueError("'mean' and 'cv' go together")
            if not float(self.mean_value) > 0:  # type: ignore[arg-type]
                raise ValueError("'mean' must be > 0")
        return self

    def _mu_sigma(self) -> tuple[float, float]:
        if self.median is not None:
            mu = math.log(float(self.median))  # type: ignore[arg-type]
            sigma = (math.log(float(self.p90)) - mu) / Z90  # type: ignore[arg-type]
            return mu, sigma
        s2 = math.log1p(float(self.cv) ** 2)  # type: ignore[arg-type]
        return math.log(float(self.mean_value)) - s2 / 2, math.sqrt(s2)  # type: ignore[arg-type]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        mu, sigma = self._mu_sigma()
        return rng.lognormal(mu, sigma, size)

    @property
    def mean(self) -> float:
        mu, sigma = self._mu_sigma()
        return math.exp(mu + sigma**2 / 2)


class Gamma(Frozen, Generic[V]):
    """Between exponential (cv = 1) and nearly fixed (cv -> 0): given by mean and cv."""

    dist: Literal["gamma"] = Field(description=_DIST)
    mean_value: V = Field(alias="mean", description="Mean, above 0.")

    _positive = field_validator("mean_value")(_above_zero)
    cv: float = Field(
        ge=0.001,
        le=MAX_CV,
        description="Coefficient of variation (standard deviation / mean); 1 is exponential.",
        json_schema_extra={"unit": _CV},
    )

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, float(self.mean_value) / shape, size)  # type: ignore[arg-type]

    @property
    def mean(self) -> float:
        return float(self.mean_value)  # type: ignore[arg-type]


class Empirical(Frozen, Generic[V]):
    """Resample observed values (for example durations from a dialer log), optionally weighted."""

    dist: Literal["empirical"] = Field(description=_DIST)
    values: tuple[V, ...] = Field(
        min_length=1, max_length=MAX_VALUES, description="Observed values, drawn with replacement."
    )
    weights: tuple[Annotated[float, Field(ge=0, le=MAX_WEIGHT)], ...] | None = Field(
        default=None,
        max_length=MAX_VALUES,
        description="One relative weight per value, not all zero; equal weights if not set.",
        json_schema_extra={"unit": "relative weight"},
    )

    @model_validator(mode="after")
    def _weights_match(self) -> Empirical[V]:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"'weights' has {len(self.weights)} entries but 'values' has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("'weights' must not all be zero")
        return self

    def _p(self) -> np.ndarray | None:
        if self.weights is None:
            return None
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        values = np.asarray(self.values, dtype=float)
        return rng.choice(values, size=size, p=self._p())

    @property
    def mean(self) -> float:
        values = np.asarray(self.values, dtype=float)
        p = self._p()
        return float(values.mean() if p is None else values @ p)


def _scalar_is_fixed(value: Any) -> Any:
    """Let a scenario write ``after_call_work: 2 min`` for a fixed value."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


_TAG = Field(discriminator="dist")

DurationDist = Annotated[
    Fixed[Duration]
    | Exponential[Duration]
    | Lognormal[Duration]
    | Gamma[Duration]
    | Empirical[Duration],
    _TAG,
    BeforeValidator(_scalar_is_fixed),
]
"""A distribution of durations (hours), written with units."""

AmountDist = Annotated[
    Fixed[Amount] | Exponential[Amount] | Lognormal[Amount] | Gamma[Amount] | Empirical[Amount],
    _TAG,
    BeforeValidator(_scalar_is_fixed),
]
"""A distribution of plain non-negative numbers (deal values)."""


class Pool:
    """Hands out one draw at a time from vectorised blocks: numpy's per-call cost, paid once."""

    __slots__ = ("_block", "_buffer", "_draw", "_rng")

    def __init__(
        self,
        draw: Callable[[np.random.Generator, int], np.ndarray],
        rng: np.random.Generator,
        block: int = 4096,
    ) -> None:
        self._draw = draw
        self._rng = rng
        self._block = block
        self._buffer: list[float] = []

    def __call__(self) -> float:
        if not self._buffer:
            self._buffer = self._draw(self._rng, self._block).tolist()
            self._buffer.reverse()
        return self._buffer.pop()


def uniform(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniform(0, 1) draws, in the form a Pool takes."""
    return rng.random(size)
