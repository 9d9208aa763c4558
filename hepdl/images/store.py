"""The images file (HDF5): jet images plus one metadata row per image; the ``hepdl images`` CLI.

Format (an interface other stages read; keep it exactly)
=========================================================

============================  =====================  ================================================
path                          type / shape           meaning
============================  =====================  ================================================
``/images``                   float32 (n, npix, npix) jet images, convention of :mod:`hepdl.images.preprocess`
                                                     (axis 1 = eta', axis 2 = phi'); chunked 256
                                                     jets per chunk along axis 0, lzf-compressed
``/jets/label``               int32 (n,)             class label (generated jets: 0 QCD, 1 top)
``/jets/jet_pt`` ...          float32 (n,)           ``jet_pt``, ``jet_eta``, ``jet_phi``,
                                                     ``jet_mass`` (GeV, rad)
``/jets/jet_nconst``          int32 (n,)             constituents of the jet (all, not only in-window)
``/jets/tau1|tau2|tau3``      float32 (n,)           N-subjettiness (:func:`hepdl.physics.substructure.nsubjettiness`,
                                                     r0 = ``generation.jet_r``)
``/jets/source_file``         str (n,)               file the jet was read from (name as given)
``/jets/source_entry``        int64 (n,)             entry number of the jet in that file
``/jets/source_jet``          int32 (n,)             index of the jet within its entry
``/jets/split``               uint8 (n,)             0 train, 1 validation, 2 test (:mod:`hepdl.io.splits`)
============================  =====================  ================================================

Attributes of the root group: ``provenance`` (JSON), ``image_options`` (JSON of the ``images``
config block used), ``n_jets_read`` (jets that passed the reader's selection, before the drops
below), ``n_dropped_empty`` (no constituent in the image window), ``n_dropped_bad`` (NaN / inf
kinematics, ``images.bad_values: drop``), ``npix``, ``half_width``. Always
``n_images = n_jets_read - n_dropped_empty - n_dropped_bad``.

Row ``i`` of every ``/jets`` column describes image ``i``. Files are written atomically, streaming
chunk by chunk: peak memory is set by ``images.chunk_size``, not by the dataset size.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import awkward as ak
import h5py
import numpy as np

from hepdl.core.atomic import atomic_path
from hepdl.core.errors import ConfigError, HepdlError, InputFileError
from hepdl.images.preprocess import image_options, jet_images
from hepdl.io.splits import CODES, NAMES, assign_split, split_of_files

log = logging.getLogger("hepdl.images.store")

#: jets per HDF5 chunk of ``/images``
CHUNK_JETS = 256
#: jets turned into images at once (bounds the memory of the images of one input chunk)
BLOCK_JETS = 4096
#: HDF5 chunk cache per dataset: two 40x40 chunks of 256 jets (1.6 MB each, above h5py's 1 MiB
#: default), so a partly written chunk stays cached; small, as every dataset gets its own cache
CACHE_BYTES = 4 * 2**20

#: the ``/jets`` columns and their dtypes
COLUMNS: dict[str, np.dtype] = {
    "label": np.dtype(np.int32),
    "jet_pt": np.dtype(np.float32),
    "jet_eta": np.dtype(np.float32),
    "jet_phi": np.dtype(np.float32),
    "jet_mass": np.dtype(np.float32),
    "jet_nconst": np.dtype(np.int32),
    "tau1": np.dtype(np.float32),
    "tau2": np.dtype(np.float32),
    "tau3": np.dtype(np.float32),
    "source_file": h5py.string_dtype(),
    "source_entry": np.dtype(np.int64),
    "source_jet": np.dtype(np.int32),
    "split": np.dtype(np.uint8),
}


# ----------------------------------------------------------------------------------------- build

def build_images(input_files: Sequence[str | os.PathLike], output: str | os.PathLike,
                 config: dict[str, Any], dataset: str | None = None, split: str | None = None) -> dict[str, Any]:
    """Build the images file ``output`` from jets files; return :func:`images_file_info` of it.

    ``config`` is a validated config (:func:`hepdl.config.load_config`); ``dataset`` names an entry
    of ``config["datasets"]`` whose ``reader`` mapping and fixed ``label`` apply (None: canonical
    jets files, labels from the files). ``split``: put every jet in this split (``"train"``,
    ``"validation"``, ``"test"``) instead of the hash split of ``config["split"]``; when None and
    the dataset names its files per split (``files: {train: ..., validation: ..., test: ...}``),
    the split that lists the input files. Jets are streamed with :func:`hepdl.io.readers.iter_jets` in steps
    of ``images.chunk_size``; jets with no constituent in the image window are dropped (counted)
    or raise :class:`HepdlError`, per ``images.empty_jets``.
    """
    from hepdl.core.progress import Progress
    from hepdl.core.provenance import provenance
    from hepdl.io.canonical import ReadStats
    from hepdl.io.readers import iter_jets  # the readers pull in uproot / pandas

    images_cfg = config["images"]
    options = image_options(images_cfg)
    fractions = config["split"]
    reader, label = None, None
    if dataset is not None:
        if dataset not in config["datasets"]:
            raise ConfigError(f"dataset '{dataset}' is not defined under 'datasets' "
                              f"(defined: {', '.join(sorted(config['datasets']))})")
        entry = config["datasets"][dataset]
        reader = entry.get("reader") if "files" in entry else None
        label = entry.get("label")
    input_files = [str(f) for f in input_files]
    if not input_files:
        raise HepdlError("hepdl images: no input files given")
    if split is None and dataset is not None and isinstance(config["datasets"][dataset].get("files"), dict):
        split = split_of_files(config["datasets"][dataset]["files"], input_files, dataset)
    if split is not None and split not in CODES:
        raise HepdlError(f"unknown split '{split}' (expected one of {', '.join(CODES)})")
    r0 = float(config["generation"]["jet_r"])
    npix = int(options["npix"])
    stats = {"n_jets_read": 0, "n_dropped_empty": 0, "n_dropped_bad": 0}

    with atomic_path(output) as tmp, h5py.File(tmp, "w", rdcc_nbytes=CACHE_BYTES, rdcc_w0=1.0) as h5:
        images_ds = h5.create_dataset("images", shape=(0, npix, npix), maxshape=(None, npix, npix),
                                      dtype=np.float32, chunks=(CHUNK_JETS, npix, npix),
                                      compression="lzf")  # ~15x smaller; reads far faster than training
        group = h5.create_group("jets")
        columns_ds = {name: group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                                 chunks=(16 * CHUNK_JETS,))
                      for name, dtype in COLUMNS.items()}
        read_stats = ReadStats()
        chunks = iter_jets(input_files, reader=reader, label=label, step_size=images_cfg["chunk_size"],
                           bad_values=images_cfg["bad_values"], stats=read_stats)
        with Progress(None, "images", unit="jets") as progress:
            for chunk in chunks:
                stats["n_jets_read"] += len(chunk)
                for start in range(0, len(chunk), BLOCK_JETS):
                    block = chunk[start:start + BLOCK_JETS]
                    images, rows = _images_and_rows(block, options, fractions, r0, images_cfg["empty_jets"], stats,
                                                    split)
                    _append(images_ds, columns_ds, images, rows)
                progress.update(len(chunk))
                chunk = block = images = rows = None  # memory: not held while the next chunk is read
        stats["n_dropped_bad"] = int(read_stats.dropped_bad)
        stats["n_jets_read"] += stats["n_dropped_bad"]
        if images_ds.shape[0] == 0:  # an empty tree, or every jet dropped: nothing to train on or score
            raise InputFileError(
                f"{', '.join(input_files)}: no jets to make images of ({read_stats.entries} entries read, "
                f"{read_stats.jets_read} jets; dropped {read_stats.dropped_label} by keep_labels, "
                f"{read_stats.dropped_cuts} by cuts, {read_stats.dropped_not_leading} not leading, "
                f"{read_stats.dropped_bad} with NaN/inf, {stats['n_dropped_empty']} with no constituent in "
                f"the image window); check the file and the dataset's reader (tree, keep_labels, cuts)")
        h5.attrs["provenance"] = json.dumps(
            provenance(config, seed=config.get("seed"), inputs=input_files, dataset=dataset,
                       split=f"files: {split}" if split else "hash"),
            sort_keys=True, default=str)
        h5.attrs["image_options"] = json.dumps(images_cfg, sort_keys=True)
        for key, value in stats.items():
            h5.attrs[key] = np.int64(value)
        h5.attrs["npix"] = np.int64(npix)
        h5.attrs["half_width"] = np.float64(options["half_width"])
        n_images = images_ds.shape[0]
    if stats["n_dropped_empty"]:
        log.warning("%s: dropped %d of %d jets with no constituent in the image window",
                    output, stats["n_dropped_empty"], stats["n_jets_read"])
    log.info("%s: %d images from %d jets read", output, n_images, stats["n_jets_read"])
    return images_file_info(output)


def _images_and_rows(block: ak.Array, options: dict[str, Any], split: dict[str, float], r0: float,
                     empty_jets: str, stats: dict[str, int],
                     fixed_split: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images and metadata rows of one block of jets, empty jets removed (or an error raised).

    ``split``: the hash split's fractions; ``fixed_split``: every jet in this split instead."""
    from hepdl.physics.substructure import nsubjettiness

    images, empty = jet_images(block["const_pt"], block["const_eta"], block["const_phi"],
                               return_empty=True, **options)
    source_file = np.asarray(ak.to_numpy(block["source_file"]), dtype=object)
    source_entry = ak.to_numpy(block["source_entry"]).astype(np.int64)
    source_jet = ak.to_numpy(block["source_jet"]).astype(np.int32)
    if empty.any():
        if empty_jets == "error":
            first = int(np.flatnonzero(empty)[0])
            raise HepdlError(
                f"{source_file[first]}: entry {source_entry[first]} (jet {source_jet[first]}) has no "
                f"constituent with pt > 0 inside the image window of half-width "
                f"{options['half_width']} ({int(empty.sum())} such jets in entries "
                f"{source_entry[empty].min()}-{source_entry[empty].max()}); set images.empty_jets: "
                f"drop to drop them")
        stats["n_dropped_empty"] += int(empty.sum())
        keep = ~empty
        images, block = images[keep], block[keep]
        source_file, source_entry, source_jet = source_file[keep], source_entry[keep], source_jet[keep]
    rows: dict[str, np.ndarray] = {
        "label": ak.to_numpy(block["label"]).astype(np.int32),
        **{name: ak.to_numpy(block[name]).astype(np.float32)
           for name in ("jet_pt", "jet_eta", "jet_phi", "jet_mass")},
        "jet_nconst": ak.to_numpy(ak.num(block["const_pt"], axis=1)).astype(np.int32),
    }
    if len(block):
        tau = nsubjettiness(block["const_pt"], block["const_eta"], block["const_phi"], block["const_e"],
                            n_max=3, r0=r0)
    else:
        tau = np.zeros((0, 3), dtype=np.float32)
    for n in range(3):
        rows[f"tau{n + 1}"] = tau[:, n].astype(np.float32)
    codes = np.empty(len(source_entry), dtype=np.uint8)
    if fixed_split is not None:
        codes[:] = CODES[fixed_split]
    for name in np.unique(source_file) if len(source_file) and fixed_split is None else []:
        here = source_file == name
        codes[here] = assign_split(str(name), source_entry[here], split["train"], split["validation"],
                                   split["test"], jet=source_jet[here])
    rows.update(source_file=source_file, source_entry=source_entry, source_jet=source_jet, split=codes)
    return images, rows


def _append(images_ds: h5py.Dataset, columns_ds: dict[str, h5py.Dataset], images: np.ndarray,
            rows: dict[str, np.ndarray]) -> None:
    n_old, n_new = images_ds.shape[0], len(images)
    if not n_new:
        return
    images_ds.resize(n_old + n_new, axis=0)
    images_ds[n_old:] = images
    for name, ds in columns_ds.items():
        ds.resize(n_old + n_new, axis=0)
        ds[n_old:] = rows[name]


# ----------------------------------------------------------------------------------------- read

def _open(path: str | os.PathLike) -> h5py.File:
    try:
        h5 = h5py.File(path, "r", rdcc_nbytes=CACHE_BYTES)
    except FileNotFoundError:
        raise InputFileError(f"images file {path} does not exist") from None
    except OSError as err:
        raise InputFileError(f"images file {path} cannot be opened as HDF5: {err}") from None
    if "images" not in h5 or "jets" not in h5 or "split" not in h5["jets"]:
        h5.close()
        raise InputFileError(f"{path} is not a hepdl images file (needs /images and /jets/split; "
                             f"write it with `hepdl images`)")
    return h5


def _split_code(split: str | None) -> int | None:
    if split is None:
        return None
    if split not in CODES:
        raise HepdlError(f"unknown split '{split}' (expected one of {', '.join(CODES)})")
    return CODES[split]


def _columns_of(h5: h5py.File, path, columns: Sequence[str] | None) -> list[str]:
    available = list(h5["jets"].keys())
    if columns is None:
        return available
    missing = [c for c in columns if c not in available]
    if missing:
        raise InputFileError(f"images file {path} has no column(s) {', '.join(missing)} under /jets "
                             f"(available: {', '.join(available)})")
    return list(columns)


def _read_column(ds: h5py.Dataset, start: int, stop: int) -> np.ndarray:
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.asarray(ds.asstr()[start:stop], dtype=object)
    return ds[start:stop]


def _blocks(paths: Sequence[str | os.PathLike], split: str | None, columns: Sequence[str] | None,
            block_rows: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """(images, columns) of the rows of ``split``, read as contiguous blocks and masked in memory."""
    code = _split_code(split)
    npix = None
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in paths:
        with _open(path) as h5:
            images_ds = h5["images"]
            if npix is not None and images_ds.shape[1:] != npix:
                raise InputFileError(f"images file {path} has images of shape {images_ds.shape[1:]}, "
                                     f"the files before it {npix}")
            npix = images_ds.shape[1:]
            names = _columns_of(h5, path, columns)
            codes = h5["jets/split"][:]
            n = len(codes)
            if images_ds.shape[0] != n:
                raise InputFileError(f"images file {path}: /images has {images_ds.shape[0]} rows but "
                                     f"/jets/split has {n}")
            for start in range(0, n, block_rows):
                stop = min(start + block_rows, n)
                mask = None if code is None else codes[start:stop] == code
                if mask is not None and not mask.any():
                    continue
                images = images_ds[start:stop]
                cols = {name: _read_column(h5["jets"][name], start, stop) for name in names}
                if mask is not None and not mask.all():
                    images = images[mask]
                    cols = {name: value[mask] for name, value in cols.items()}
                yield images, cols


def read_images(paths: str | os.PathLike | Sequence[str | os.PathLike], split: str | None = None,
                columns: Sequence[str] | None = None,
                max_jets: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images and metadata columns of one split (``"train"``, ``"validation"``, ``"test"``; None: all).

    Reads shard by shard in contiguous blocks, keeping only the rows of ``split``: memory holds the
    selected images plus one block. ``columns``: names under ``/jets`` (None: all). ``max_jets``:
    the first ``max_jets`` selected rows in file order.

    Returns ``images`` float32 ``(n, npix, npix)`` and a dict of 1-D arrays of length n
    (``source_file`` as an object array of str).
    """
    code = _split_code(split)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    # count first, so the output is allocated once
    total, npix = 0, None
    for path in paths:
        with _open(path) as h5:
            codes = h5["jets/split"][:]
            total += len(codes) if code is None else int(np.count_nonzero(codes == code))
            npix = h5["images"].shape[1:]
            _columns_of(h5, path, columns)
    if max_jets is not None:
        total = min(total, int(max_jets))
    images = np.empty((total, *(npix or (0, 0))), dtype=np.float32)
    parts: dict[str, list[np.ndarray]] = {}
    filled = 0
    if total:
        for block_images, cols in _blocks(paths, split, columns, 16 * CHUNK_JETS):
            take = min(len(block_images), total - filled)
            images[filled:filled + take] = block_images[:take]
            for name, value in cols.items():
                parts.setdefault(name, []).append(value[:take])
            filled += take
            if filled >= total:
                break
    if not parts:
        parts = _empty_columns(paths, columns)
    return images, {name: np.concatenate(values) for name, values in parts.items()}


def _empty_columns(paths, columns) -> dict[str, list[np.ndarray]]:
    with _open(paths[0]) as h5:
        names = _columns_of(h5, paths[0], columns)
        return {name: [np.empty(0, dtype=object if h5py.check_string_dtype(h5["jets"][name].dtype)
                                 else h5["jets"][name].dtype)] for name in names}


def iter_images(paths: str | os.PathLike | Sequence[str | os.PathLike], split: str | None,
                batch_size: int, columns: Sequence[str] | None = None,
                ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Stream ``(images, columns)`` batches of ``batch_size`` rows of ``split`` (the last one shorter).

    For scoring without holding a whole dataset in memory; rows come in file order, so the
    concatenated batches equal :func:`read_images` of the same arguments.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    buffer_images: list[np.ndarray] = []
    buffer_cols: list[dict[str, np.ndarray]] = []
    buffered = 0
    for images, cols in _blocks(paths, split, columns, max(batch_size, 16 * CHUNK_JETS)):
        buffer_images.append(images)
        buffer_cols.append(cols)
        buffered += len(images)
        while buffered >= batch_size:
            all_images = np.concatenate(buffer_images) if len(buffer_images) > 1 else buffer_images[0]
            all_cols = {k: np.concatenate([c[k] for c in buffer_cols]) for k in buffer_cols[0]} \
                if len(buffer_cols) > 1 else buffer_cols[0]
            yield all_images[:batch_size], {k: v[:batch_size] for k, v in all_cols.items()}
            buffer_images = [all_images[batch_size:]]
            buffer_cols = [{k: v[batch_size:] for k, v in all_cols.items()}]
            buffered -= batch_size
    if buffered:
        yield (np.concatenate(buffer_images),
               {k: np.concatenate([c[k] for c in buffer_cols]) for k in buffer_cols[0]})


def images_file_info(path: str | os.PathLike) -> dict[str, Any]:
    """The attributes of an images file, decoded (JSON parsed, numbers as Python numbers).

    Adds ``n_images`` and ``n_per_split`` (``{"train": ..., "validation": ..., "test": ...}``).
    """
    with _open(path) as h5:
        info: dict[str, Any] = {}
        for key, value in h5.attrs.items():
            if key in ("provenance", "image_options"):
                info[key] = json.loads(value)
            elif isinstance(value, np.generic):
                info[key] = value.item()
            else:
                info[key] = value
        codes = h5["jets/split"][:]
        info["n_images"] = int(h5["images"].shape[0])
        info["n_per_split"] = {name: int(np.count_nonzero(codes == code)) for code, name in NAMES.items()}
    return info





def check_pixels(images: np.ndarray, cols: dict[str, np.ndarray]) -> None:
    """Raise InputFileError naming the first jet (source_file, source_entry) whose image (n, npix,
    npix) holds a NaN, infinite or negative pixel."""
    bad = ~np.isfinite(images).all(axis=(1, 2))
    bad |= (np.nan_to_num(images, nan=0.0) < 0).any(axis=(1, 2))
    if bad.any():
        first = int(np.argmax(bad))
        where = (f"source_file {cols['source_file'][first]}, source_entry {cols['source_entry'][first]}"
                 if "source_file" in cols and "source_entry" in cols else f"row {first}")
        raise InputFileError(f"{int(bad.sum())} jet image(s) have NaN, infinite or negative pixels, the "
                             f"first one of jet {where}; rebuild the images file")
