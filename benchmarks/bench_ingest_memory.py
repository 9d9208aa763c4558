"""Peak memory of the ingest + images stage (`hepdl images`) is set by the chunk size, not the file size.

    python benchmarks/bench_ingest_memory.py                      # 1M and 200k jets, chunks 10 MB and 50 MB
    python benchmarks/bench_ingest_memory.py --jets 200000 50000 --chunk-sizes "10 MB"

For each jet count a canonical jets ROOT file of synthetic jets (~50 constituents each,
:func:`bench_images.synthetic_jets`) is written chunk by chunk with
:func:`hepdl.io.jets_file.write_jets` (in a child process, so this process stays small). Then, for
each chunk size (``images.chunk_size``), the real CLI ``hepdl images --input JETS --output
IMAGES.h5 --config C`` runs as a child process (default 40x40 images, N-subjettiness, splits) and
its peak resident memory is measured two ways: ``VmHWM`` of ``/proc/<pid>/status`` polled while it
runs (the child's own high-water mark), and ``ru_maxrss`` from ``os.wait4`` (an upper bound: Linux
carries a forked child's pre-exec peak into it). The highest VmRSS in each quarter of the run time
is printed too: memory that grows with the jets processed shows as a rising sequence. The verdict:
every peak under ``--limit-mib`` (2048), and the 1M-jet peak within ``--growth-tolerance`` of the
200k-jet peak at the same chunk size. (Compare files that each hold several full chunks: the
peak comes while one chunk is processed and the next read, so a file of 1.5 chunks peaks lower.) Files go to
``benchmarks/out/`` (git-ignored) and are removed afterwards. ``bench_images.py``
measures the same for ``build_images`` in-process at the default chunk size; this one adds the
CLI, two chunk sizes and the file-size comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
WRITE_CHUNK = 50_000


def write_file(n_jets: int, path: Path) -> None:
    """Child-process entry: write ``n_jets`` synthetic canonical jets to ``path`` chunk by chunk."""
    sys.path.insert(0, str(HERE))
    from bench_images import synthetic_jets

    from hepdl.io.jets_file import write_jets

    chunks = (synthetic_jets(min(WRITE_CHUNK, n_jets - start), seed=start + 1)
              for start in range(0, n_jets, WRITE_CHUNK))
    write_jets(path, chunks, {"benchmark": "bench_ingest_memory", "n_jets": n_jets})


def _vm_mib(pid: int) -> tuple[float, float] | None:
    """(VmRSS, VmHWM) of ``pid`` in MiB: resident memory now and its high-water mark."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    values[line[:5]] = int(line.split()[1]) / 1024
    except OSError:
        return None
    return (values["VmRSS"], values["VmHWM"]) if len(values) == 2 else None


def run_images(jets: Path, chunk_size: str, npix: int) -> dict:
    """Run `hepdl images` on ``jets`` with ``images.chunk_size = chunk_size``; its peak RSS and time."""
    config = OUT / "bench_ingest_memory.yaml"
    config.write_text(json.dumps({
        "datasets": {"qcd": {"generate": {"process": "qcd"}, "n_jets": 10}},
        "experiments": {"e": {"train": "qcd", "background": "qcd", "signal": "qcd"}},
        "images": {"npix": npix, "chunk_size": chunk_size}}))
    images = OUT / f"bench_ingest_{jets.stem}.h5"
    hepdl = Path(sys.executable).parent / "hepdl"
    t0 = time.perf_counter()
    process = subprocess.Popen([str(hepdl), "images", "--input", str(jets), "--output", str(images),
                                "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True)
    reader.start()
    polled = 0.0
    timeline: list[tuple[float, float]] = []  # (seconds, VmRSS MiB)
    while True:
        sample = _vm_mib(process.pid)
        if sample is not None:
            timeline.append((time.perf_counter() - t0, sample[0]))
            polled = max(polled, sample[1])
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - t0
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if process.returncode != 0:
        raise SystemExit(f"hepdl images failed:\n{b''.join(stderr).decode()[-3000:]}")
    # resident memory over the run: the highest VmRSS in each quarter of the run time (a leak, memory
    # growing with the jets processed, shows as a rising sequence)
    quarters = [max((rss for t, rss in timeline if q * seconds / 4 <= t < (q + 1) * seconds / 4), default=0.0)
                for q in range(4)]
    record = {"chunk_size": chunk_size, "peak_rss_mib_vmhwm": round(polled, 1),
              "rss_mib_by_quarter": [round(q) for q in quarters],
              "peak_rss_mib_ru_maxrss": round(usage.ru_maxrss / 1024, 1), "seconds": round(seconds, 1),
              "images_file_mib": round(images.stat().st_size / 2**20, 1)}
    images.unlink()
    config.unlink()
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, nargs="+", default=[200_000, 1_000_000], help="jet counts of the files")
    parser.add_argument("--chunk-sizes", nargs="+", default=["10 MB", "50 MB"], help="images.chunk_size values")
    parser.add_argument("--npix", type=int, default=40)
    parser.add_argument("--limit-mib", type=float, default=2048.0)
    parser.add_argument("--growth-tolerance", type=float, default=0.15,
                        help="allowed relative growth of the peak from the smallest to the largest file")
    parser.add_argument("--write", nargs=2, metavar=("N_JETS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_file(int(args.write[0]), Path(args.write[1]))
        return

    OUT.mkdir(exist_ok=True)
    results = []
    for n_jets in sorted(args.jets):
        jets = OUT / f"bench_ingest_jets_{n_jets}.root"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--write", str(n_jets), str(jets)], check=True)
        size = jets.stat().st_size / 2**20
        print(f"wrote {n_jets:,} jets: {size:.0f} MiB in {time.perf_counter() - t0:.0f} s", flush=True)
        for chunk_size in args.chunk_sizes:
            record = {"n_jets": n_jets, "jets_file_mib": round(size, 1), **run_images(jets, chunk_size, args.npix)}
            results.append(record)
            print(f"hepdl images {n_jets:>9,} jets, chunk_size {chunk_size:>7}: peak RSS "
                  f"{record['peak_rss_mib_vmhwm']:.0f} MiB (VmHWM; ru_maxrss {record['peak_rss_mib_ru_maxrss']:.0f}), "
                  f"{record['seconds']:.0f} s, images file {record['images_file_mib']:.0f} MiB; "
                  "highest RSS per quarter "
                  f"of the run {record['rss_mib_by_quarter']} MiB", flush=True)
        jets.unlink()

    ok = all(r["peak_rss_mib_vmhwm"] < args.limit_mib for r in results)
    for chunk_size in args.chunk_sizes:
        rows = sorted((r for r in results if r["chunk_size"] == chunk_size), key=lambda r: r["n_jets"])
        growth = rows[-1]["peak_rss_mib_vmhwm"] / rows[0]["peak_rss_mib_vmhwm"] - 1
        ok &= growth <= args.growth_tolerance
        print(f"chunk_size {chunk_size}: peak grows {100 * growth:+.1f}% from {rows[0]['n_jets']:,} to "
              f"{rows[-1]['n_jets']:,} jets")
    print(json.dumps(results))
    print("PASS" if ok else "FAIL",
          f"(limit {args.limit_mib:.0f} MiB, growth tolerance {100 * args.growth_tolerance:.0f}%)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
