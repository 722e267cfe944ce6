"""What the step-by-step views share: index checks that say what to change, and frozen arrays."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import OptionError


def check_index(name: str, value: object, size: int) -> int:
    """``value`` as an index into ``size`` things (0 to size − 1; no negative indices)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < size:
        raise OptionError(name, value, 0, size - 1)
    return int(value)


def frozen(x: torch.Tensor | np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """A read-only contiguous numpy copy of ``x`` (float32 unless told)."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    arr = np.array(arr, dtype=dtype, copy=True, order="C")
    arr.flags.writeable = False
    return arr
