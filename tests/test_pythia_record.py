"""hepdl.generation.pythia_record: bulk reading of Pythia's event record, checked against pythia8mc's accessors."""

from __future__ import annotations

import numpy as np
import pytest

import hepdl.generation.pythia_record as pythia_record
from hepdl.generation.generate import JetGenerator
from hepdl.generation.pythia_record import EventRecordReader, invisible_ids
from hepdl.generation.truth import hadronic_top_partons


def _accessor_arrays(event) -> tuple[np.ndarray, np.ndarray]:
    rows = [(i, p.px(), p.py(), p.pz(), p.e()) for i, p in enumerate(event[i] for i in range(event.size()))
            if p.isFinal() and p.isVisible()]
    table = np.array(rows)
    return table[:, 0].astype(np.int64), np.ascontiguousarray(table[:, 1:].T)


@pytest.mark.parametrize("process, seed", [("qcd", 41), ("top", 42)])
def test_bulk_read_equals_the_accessors_event_after_event(process, seed):
    generator = JetGenerator(process, seed, {})
    generator.pythia.next()
    reader = EventRecordReader.discover(generator.pythia)
    assert reader is not None
    assert set(reader.offsets) == set(pythia_record.FIELDS)
    sizes = set()
    for _ in range(40):
        generator.pythia.next()
        index, p4 = reader.final_visible()
        expected_index, expected_p4 = _accessor_arrays(generator.event)
        assert np.array_equal(index, expected_index)
        assert np.array_equal(p4, expected_p4)  # exact: the same doubles
        sizes.add(generator.event.size())
    assert len(sizes) > 10  # records of many sizes (the vector grows and may move)


def test_top_partons_read_in_bulk_equal_the_accessors_bit_for_bit():
    """The compiled decay-chain walk (daughterList, iBotCopyId, pT, eta, phi as Pythia defines them)."""
    generator = JetGenerator("top", 43, {})
    generator.pythia.next()
    reader = EventRecordReader.discover(generator.pythia)
    n_tops = 0
    for _ in range(150):
        generator.pythia.next()
        ours, reference = reader.top_partons(), hadronic_top_partons(generator.event)
        assert ours.shape == reference.shape and np.array_equal(ours, reference)
        n_tops += len(ours)
    assert n_tops == 300  # W -> quarks only: both tops decay hadronically


def test_invisible_species_are_those_of_the_particle_data():
    generator = JetGenerator("qcd", 3, {})
    ids = invisible_ids(generator.pythia.particleData)
    assert {12, 14, 16, 1000022} <= set(ids.tolist())
    assert not {11, 13, 22, 111, 211, 2212} & set(ids.tolist())
    assert np.all(np.diff(ids) > 0)


def test_a_layout_that_cannot_be_confirmed_is_refused(monkeypatch, caplog):
    """If the addresses do not form one consistent array, nothing is read and None comes back."""
    generator = JetGenerator("qcd", 3, {})
    generator.pythia.next()
    monkeypatch.setattr(pythia_record, "_address", lambda wrapper: 0)
    with caplog.at_level("INFO", logger="hepdl.generation.pythia_record"):
        assert EventRecordReader.discover(generator.pythia) is None
    assert "do not form one array" in caplog.text


def test_a_record_not_where_it_was_found_is_an_error_not_a_read():
    generator = JetGenerator("qcd", 3, {})
    generator.pythia.next()
    reader = EventRecordReader.discover(generator.pythia)
    reader._word += 2  # pretend the vector's (begin, end) moved inside the Event object
    with pytest.raises(RuntimeError, match="no longer where it was found"):
        reader.final_visible()
    with pytest.raises(RuntimeError, match="no longer where it was found"):
        reader.top_partons()
