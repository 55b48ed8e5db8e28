"""The `Estimate`: a value with an honest error bar (or none, when exact)."""
from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np


def _freeze(array_like):
    array = np.array(array_like, dtype=np.float64)
    array.setflags(write=False)
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class Estimate:
    """A computed quantity: ``value``, its standard error, and how it was made.

    ``value`` is a float64 scalar or array (one entry per β of a grid).
    ``stderr`` is ``None`` when the value is exact (up to float64 rounding),
    otherwise an array of the same shape holding one standard error.
    ``method`` names the method (``"enumerate"``, ``"kaufman"``, ...) and
    ``meta`` records β, N, the seed and method-specific diagnostics.

    ``float(est)`` works for scalar estimates; ``repr`` reads like
    ``-0.7612 ± 0.0021 [ais]``.
    """

    value: np.ndarray
    stderr: np.ndarray | None
    method: str
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        value = _freeze(self.value)
        object.__setattr__(self, "value", value)
        if self.stderr is not None:
            stderr = _freeze(self.stderr)
            if stderr.shape != value.shape:
                raise ValueError(
                    f"stderr shape {stderr.shape} must equal value shape {value.shape}"
                )
            object.__setattr__(self, "stderr", stderr)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    @property
    def is_exact(self) -> bool:
        """True when the value carries no statistical error."""
        return self.stderr is None

    def __float__(self) -> float:
        if self.value.ndim != 0:
            raise TypeError(
                f"float() needs a scalar Estimate; this one has shape {self.value.shape}. "
                "Index it first, e.g. est[0]."
            )
        return float(self.value)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def __len__(self) -> int:
        if self.value.ndim == 0:
            raise TypeError("len() of a scalar Estimate")
        return len(self.value)

    def __getitem__(self, index) -> "Estimate":
        stderr = None if self.stderr is None else self.stderr[index]
        return Estimate(self.value[index], stderr, self.method, self.meta)

    def __repr__(self) -> str:
        def fmt(x):
            return f"{x:.6g}"

        if self.value.ndim == 0:
            text = fmt(float(self.value))
            if self.stderr is not None:
                text += f" ± {float(self.stderr):.2g}"
        else:
            values = np.array2string(self.value, precision=6, threshold=8)
            text = values
            if self.stderr is not None:
                text += " ± " + np.array2string(self.stderr, threshold=8,
                                                formatter={"float_kind": lambda x: f"{x:.2g}"})
        return f"{text} [{self.method}]"

    def to_dict(self) -> dict:
        """JSON-friendly form: value, stderr, method (meta values made plain)."""

        def plain(x):
            if isinstance(x, np.ndarray):
                return x.tolist() if x.ndim else float(x)
            if isinstance(x, (np.floating, np.integer)):
                return x.item()
            if isinstance(x, float) and not math.isfinite(x):
                return x
            return x

        return {
            "value": plain(self.value),
            "stderr": None if self.stderr is None else plain(self.stderr),
            "method": self.method,
        }
