"""Remote input: root:// (XRootD) URLs through uproot + fsspec-xrootd, in the reader, the CLI and the workflow.

The tests start a real XRootD server (Debian's ``xrootd-server``: the ``xrootd`` daemon) on a free
port serving a temporary directory, and read from ``root://127.0.0.1:<port>//``. Where no server
can start they are skipped with the reason, unless ``HEPDL_REQUIRE_XROOTD=1`` (set by ``.ci/run``,
which installs the server): then they fail. The unreachable-server test needs no server.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest
import yaml
from example_files import write_delphes
from test_event_layout import delphes_reader
from test_io import random_canonical
from test_workflow import ROOT, _assert_ok, snakemake

from hepdl.cli import main
from hepdl.io.jets_file import write_jets
from hepdl.io.readers import read_jets

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str):
    if os.environ.get("HEPDL_REQUIRE_XROOTD") == "1":
        pytest.fail(f"HEPDL_REQUIRE_XROOTD=1 but no XRootD server could start: {reason}")
    pytest.skip(f"no XRootD server here ({reason}); .ci/run installs Debian's xrootd-server")


@pytest.fixture(scope="module")
def xrootd():
    """(base URL ``root://127.0.0.1:<port>/``, served directory) of an XRootD server started for these tests."""
    daemon = shutil.which("xrootd")
    if daemon is None:
        _unavailable("no `xrootd` program (apt-get install xrootd-server)")
    try:
        import fsspec_xrootd  # noqa: F401
    except ImportError:
        _unavailable("the fsspec-xrootd package is not installed")
    base = Path(tempfile.mkdtemp(prefix="hepdl-xrootd-"))  # not under pytest's 0700 tmp: the server may run as nobody
    data, admin = base / "data", base / "admin"
    data.mkdir()
    admin.mkdir()
    for path in (base, data, admin):
        path.chmod(0o777)
    port = _free_port()
    config = base / "xrootd.cfg"
    config.write_text(f"all.export /\noss.localroot {data}\nall.adminpath {admin}\nall.pidpath {admin}\n"
                      f"xrd.network nodnr\n")
    command = [daemon, "-c", str(config), "-p", str(port), "-l", str(base / "xrootd.log")]
    if os.geteuid() == 0:  # xrootd refuses to run as root
        command += ["-R", "nobody"]
    output = base / "xrootd.out"
    with open(output, "w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = (base / "xrootd.log").read_text()[-500:] if (base / "xrootd.log").exists() else ""
                _unavailable(f"xrootd exited or did not listen: {output.read_text()[-500:]} {log}".strip())
            time.sleep(0.2)
    yield f"root://127.0.0.1:{port}/", data
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(base, ignore_errors=True)


def test_remote_files_read_as_local_ones(xrootd):
    url, data = xrootd
    write_jets(data / "jets_0.root", random_canonical(40, seed=1), {})
    write_jets(data / "jets_1.root", random_canonical(30, seed=2), {})
    write_delphes(data / "events.root", 20, 3, signal=True, rntuple=True)
    remote = read_jets(f"{url}/jets_*.root")  # a glob, expanded on the server
    local = read_jets(str(data / "jets_*.root"))
    assert remote.source_file.tolist()[0] == f"{url}/jets_0.root" and len(remote) == 70
    for name in local.fields:
        if name != "source_file":
            assert ak.to_list(remote[name]) == ak.to_list(local[name]), name
    events = read_jets(f"{url}/events.root", reader=delphes_reader(), label=1)
    assert ak.to_list(events.jet_pt) == ak.to_list(read_jets(data / "events.root", reader=delphes_reader(),
                                                             label=1).jet_pt)


def test_cli_images_of_a_remote_file(xrootd, tmp_path, capsys):
    url, data = xrootd
    write_jets(data / "cli.root", random_canonical(50, seed=4), {})
    assert main(["images", "--input", f"{url}/cli.root", "--output", str(tmp_path / "remote.h5")]) == 0
    assert main(["images", "--input", str(data / "cli.root"), "--output", str(tmp_path / "local.h5")]) == 0
    with h5py.File(tmp_path / "remote.h5", "r") as remote, h5py.File(tmp_path / "local.h5", "r") as local:
        np.testing.assert_array_equal(remote["images"][:], local["images"][:])
        np.testing.assert_array_equal(remote["jets/split"][:], local["jets/split"][:])  # split by file name
        assert json.loads(remote.attrs["provenance"])["inputs"] == [f"{url}/cli.root"]
    missing = main(["images", "--input", f"{url}/absent.root", "--output", str(tmp_path / "absent.h5")])
    err = capsys.readouterr().err
    assert missing == 2 and f"{url}/absent.root: cannot open the remote file" in err
    assert not (tmp_path / "absent.h5").exists()


@pytest.mark.workflow
def test_workflow_reads_remote_files_without_taking_them_for_local_ones(xrootd, tmp_path):
    """The images rule gets a root:// file as a parameter, not as an input Snakemake would look for."""
    url, data = xrootd
    write_delphes(data / "qcd_0.root", 40, 5, signal=False)
    config = yaml.safe_load((ROOT / "config" / "examples" / "delphes.yaml").read_text())
    config["datasets"]["qcd"]["files"] = [f"{url}/qcd_*.root"]
    (tmp_path / "remote.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "data" / "delphes").mkdir(parents=True)
    write_delphes(tmp_path / "data" / "delphes" / "top_0.root", 40, 6, signal=True)
    result = snakemake(tmp_path, "results/images/qcd/shard0.h5", "--cores", "1",
                       "--configfile", str(tmp_path / "remote.yaml"))
    _assert_ok(result)
    with h5py.File(tmp_path / "results" / "images" / "qcd" / "shard0.h5", "r") as handle:
        assert handle["images"].shape[0] > 10
        assert set(handle["jets/source_file"].asstr()[:]) == {f"{url}/qcd_0.root"}


def test_unreachable_server_gives_one_message_naming_the_url(tmp_path):
    """No server on the port: exit 2, one line naming the URL, no output left (the client's retries
    shortened through its environment, as a user can)."""
    url = f"root://127.0.0.1:{_free_port()}//data/jets.root"
    env = {**os.environ, "XRD_CONNECTIONRETRY": "1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(BIN / "hepdl"), "images", "--input", url, "--output", str(tmp_path / "o.h5")],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    lines = [line for line in result.stderr.splitlines() if line.startswith("hepdl: error:")]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"{url}: cannot open the remote file: server unreachable" in lines[0]
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())
