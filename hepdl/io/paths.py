"""Input paths: local files, or remote ``root://`` (XRootD) URLs; glob patterns expanded, sorted.

A local path (``data/QCD_*.root``, ``~/jets.root``) is expanded with :mod:`glob`. A remote path
``root://host[:port]//path/file.root`` is read by uproot through fsspec and the
``fsspec-xrootd`` package (the XRootD client of the ``xrootd`` wheel); a glob pattern in it
(``root://host//store/QCD_*.root``) is expanded by listing the server's directory. The
workflow (``workflow/rules/common.smk``) uses :func:`expand_files` too, so the images shards are the same
files whatever reads them; remote files are never Snakemake inputs (Snakemake would look for them
on the local disk), they are passed to ``hepdl images`` as parameters.

XRootD client timeouts: by default the client retries an unreachable server for up to 10
minutes. Unless you set them yourself, hepdl sets ``XRD_CONNECTIONWINDOW=10`` (seconds per
connection attempt) and ``XRD_CONNECTIONRETRY=2`` before the client is loaded, so an unreachable
server stops the run after about 20 s with a message naming the URL.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Sequence

from hepdl.core.errors import HepdlError, InputFileError

REMOTE_SCHEMES = ("root://", "roots://")

#: XRootD client settings hepdl sets unless the environment already has them
XROOTD_DEFAULTS = {"XRD_CONNECTIONWINDOW": "10", "XRD_CONNECTIONRETRY": "2"}


def is_remote(path: str | os.PathLike) -> bool:
    """True for an XRootD URL (``root://`` or ``roots://``)."""
    return str(path).startswith(REMOTE_SCHEMES)


def configure_xrootd() -> None:
    """Set hepdl's XRootD client timeouts (:data:`XROOTD_DEFAULTS`) where the environment has none.

    Must run before the XRootD client library is first loaded (it reads the environment once).
    """
    for key, value in XROOTD_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _remote_filesystem(url: str):
    configure_xrootd()
    try:
        import fsspec
        import fsspec_xrootd  # noqa: F401 (registers the root:// protocol)
    except ImportError:
        raise HepdlError(f"{url}: reading root:// files needs the fsspec-xrootd package "
                         f"(pip install fsspec-xrootd)") from None
    return fsspec.core.url_to_fs(url)


def _expand_remote(pattern: str) -> list[str]:
    """The URLs matching a remote glob pattern (a glob in the file name only), sorted; the
    server's directory is listed."""
    scheme, _, rest = pattern.partition("//")
    host, _, path = rest.partition("/")
    prefix = f"{scheme}//{host}//"
    directory, _, name = path.lstrip("/").rpartition("/")
    if glob.has_magic(directory):
        raise HepdlError(f"'{pattern}': in a root:// URL a glob pattern may only be in the file name")
    fs, _ = _remote_filesystem(pattern)
    try:  # "//" lists the top of the export (fsspec-xrootd cannot list "/")
        entries = fs.ls(f"/{directory}" if directory else "//", detail=False)
    except Exception as err:
        raise InputFileError(f"{pattern}: cannot list the remote directory /{directory}, server unreachable or "
                             f"no such directory? ({type(err).__name__}: {' '.join(str(err).split())})") from None
    names = sorted(n for n in (e.rstrip("/").rsplit("/", 1)[-1] for e in entries) if fnmatch.fnmatchcase(n, name))
    if not names:
        raise HepdlError(f"no file matches the pattern '{pattern}'")
    return [f"{prefix}{directory}/{n}" if directory else f"{prefix}{n}" for n in names]


def expand_files(files: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """Paths of ``files`` (one path, a list, or glob patterns; each glob sorted), in order.

    Local paths must exist (``~`` is expanded); ``root://`` URLs are taken as given unless they
    hold a glob pattern, which is expanded on the server. An empty glob raises
    :class:`HepdlError` naming the pattern; a missing local path raises :class:`InputFileError`.
    """
    items = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    if not items:
        raise HepdlError("no input files given")
    paths: list[str] = []
    for item in items:
        if is_remote(item):
            url = str(item)
            paths.extend(_expand_remote(url) if glob.has_magic(url.split("//", 2)[-1]) else [url])
            continue
        pattern = os.path.expanduser(os.fspath(item))
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise HepdlError(f"no file matches the pattern '{pattern}'")
            paths.extend(matches)
        else:
            if not os.path.exists(pattern):
                raise InputFileError(f"input file {pattern} does not exist")
            paths.append(pattern)
    return paths
