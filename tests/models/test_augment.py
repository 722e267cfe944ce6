"""``models.augment.repeat_spans``: the share of windows it touches, what it writes there,
and a random generator that advances the same way whatever it draws."""

from __future__ import annotations

import torch

from models.augment import repeat_random, repeat_spans


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


def test_repeat_random_writes_a_run_of_random_tokens_twice_in_a_row() -> None:
    batch = torch.zeros(200, 97, dtype=torch.long)
    out = repeat_random(batch, 1.0, 8, 24, 4096, torch.Generator().manual_seed(2))
    for row in out:
        written = torch.nonzero(row).flatten()
        start, n = int(written[0]), (int(written[-1]) - int(written[0]) + 1) // 2
        assert 8 <= n <= 24
        assert torch.equal(row[start : start + n], row[start + n : start + 2 * n])
        assert (row[start : start + 2 * n] > 0).all(), "never the end-of-text token (id 0)"


def test_repeat_random_advances_the_generator_alike_whatever_the_share() -> None:
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    repeat_random(_windows(), 0.0, 8, 32, 4096, g1)
    repeat_random(_windows(), 1.0, 8, 32, 4096, g2)
    assert torch.equal(g1.get_state(), g2.get_state())


def test_repeat_random_writes_the_run_as_many_times_as_asked() -> None:
    batch = torch.zeros(50, 129, dtype=torch.long)
    out = repeat_random(batch, 1.0, 4, 32, 4096, torch.Generator().manual_seed(4), copies=4)
    for row in out:
        written = torch.nonzero(row).flatten()
        start, total = int(written[0]), int(written[-1]) - int(written[0]) + 1
        assert total % 4 == 0 and 4 <= total // 4 <= 32
        n = total // 4
        runs = row[start : start + total].view(4, n)
        assert (runs == runs[0]).all()


def test_repeat_random_with_zero_copies_tiles_the_whole_window() -> None:
    out = repeat_random(_windows(20, 100), 1.0, 8, 32, 4096, torch.Generator().manual_seed(6), copies=0)
    for row in out:
        n = next(k for k in range(1, 51) if torch.equal(row[k:], row[:-k]))  # the period
        assert 8 <= n <= 32 and (row < 4096).all()
