"""Deterministic splits: fractions respected, stable, independent of chunking."""

import numpy as np
import pytest

from hepdl.io.splits import TEST, TRAIN, VALIDATION, assign_split


def test_fractions_and_stability():
    entry = np.arange(200_000)
    codes = assign_split("qcd_0.root", entry, 0.6, 0.2, 0.2)
    fractions = np.bincount(codes, minlength=3) / len(entry)
    assert fractions == pytest.approx([0.6, 0.2, 0.2], abs=0.005)
    # same jets, any chunking, any directory -> same split
    again = np.concatenate([assign_split("/elsewhere/qcd_0.root", part, 0.6, 0.2, 0.2)
                            for part in np.array_split(entry, 7)])
    np.testing.assert_array_equal(codes, again)


def test_files_and_jets_differ():
    entry = np.arange(10_000)
    a = assign_split("a.root", entry, 0.6, 0.2, 0.2)
    b = assign_split("b.root", entry, 0.6, 0.2, 0.2)
    c = assign_split("a.root", entry, 0.6, 0.2, 0.2, jet=np.ones_like(entry))
    assert (a != b).mean() > 0.3 and (a != c).mean() > 0.3
    assert set(np.unique(a)) == {TRAIN, VALIDATION, TEST}


def test_fractions_must_sum_to_one():
    with pytest.raises(ValueError):
        assign_split("a.root", np.arange(3), 0.5, 0.2, 0.2)
