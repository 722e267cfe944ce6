"""``models.augment.repeat_spans``: the share of windows it touches, what it writes there,
and a random generator that advances the same way whatever it draws."""

from __future__ import annotations

import torch

from models.augment import repeat_spans


def _windows(b: int = 64, t: int = 129) -> torch.Tensor:
    return torch.arange(b * t).view(b, t)  # every token distinct, so copies are visible


def _span(row: torch.Tensor, original: torch.Tensor) -> tuple[int, int]:
    """Start and length of the overwritten part of ``row``."""
    changed = torch.nonzero(row != original).flatten()
    return int(changed[0]), len(changed)


def test_share_zero_leaves_the_batch_unchanged_and_share_one_changes_every_window() -> None:
    batch = _windows()
    assert torch.equal(repeat_spans(batch, 0.0, 8, 64, torch.Generator().manual_seed(0)), batch)
    out = repeat_spans(batch, 1.0, 8, 64, torch.Generator().manual_seed(0))
    assert (out != batch).any(dim=1).all()


def test_each_touched_window_repeats_an_earlier_span_of_its_own_text() -> None:
    batch = _windows()
    out = repeat_spans(batch, 1.0, 8, 40, torch.Generator().manual_seed(3))
    for row, original in zip(out, batch, strict=True):
        dst, n = _span(row, original)
        assert 8 <= n <= 40
        src = int(row[dst] - original[0])  # tokens are their own positions, offset per row
        assert src + n <= dst, "the copy comes after its source"
        assert torch.equal(row[dst : dst + n], original[src : src + n])


def test_the_share_of_touched_windows_is_about_the_requested_share() -> None:
    out = repeat_spans(_windows(4000, 65), 0.25, 8, 32, torch.Generator().manual_seed(0))
    touched = float((out != _windows(4000, 65)).any(dim=1).float().mean())
    assert abs(touched - 0.25) < 0.03


def test_generator_advances_alike_whatever_the_share() -> None:
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    repeat_spans(_windows(), 0.0, 8, 64, g1)
    repeat_spans(_windows(), 1.0, 8, 64, g2)
    assert torch.equal(g1.get_state(), g2.get_state())
