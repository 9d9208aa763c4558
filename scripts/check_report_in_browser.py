"""Open hepdl's HTML report in a real headless Chromium and check that it loads offline, with every
image: `python scripts/check_report_in_browser.py results/report/index.html [--screenshot page.png]`.

The browser (Debian's `chromium`, or the one named by $HEPDL_CHROMIUM) is driven through the
Chrome DevTools protocol over a pipe (`--remote-debugging-pipe`: no port, no websocket library),
with a fresh profile and no network services. The page is loaded from its file, then:

- every <img> must have loaded (`complete` and a natural width > 0);
- every request the page made must be a file:// URL next to it (nothing from the network);
- with `--screenshot`, the whole page is saved as PNG (to look at it).

Prints a JSON summary; exit status 0 when the page passed, 1 when it did not, 2 when no Chromium
is installed. tests/test_report.py runs `check_report` on a report built from fake metrics.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
         "--remote-debugging-pipe")


def find_chromium() -> str | None:
    """The Chromium executable: $HEPDL_CHROMIUM (None if that is not an executable), else the
    first of CANDIDATES on the PATH."""
    if os.environ.get("HEPDL_CHROMIUM"):
        return shutil.which(os.environ["HEPDL_CHROMIUM"])
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


class _DevTools:
    """A minimal DevTools-protocol client over Chromium's pipe (fd 3: commands in, fd 4: replies
    out; messages are JSON terminated by a NUL byte)."""

    def __init__(self, executable: str, profile: str):
        to_browser_read, to_browser_write = os.pipe()
        from_browser_read, from_browser_write = os.pipe()
        # keep the browser's ends above fd 4 so that dup2 onto 3 and 4 never clobbers them
        child_in = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_read)
        os.close(from_browser_write)

        def pipes_on_3_and_4():  # in the child, before exec: dup2 leaves 3 and 4 inheritable
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                        stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                        preexec_fn=pipes_on_3_and_4, close_fds=False)
        os.close(child_in)
        os.close(child_out)
        self.send_pipe = os.fdopen(to_browser_write, "wb", buffering=0)
        self.receive_pipe = os.fdopen(from_browser_read, "rb", buffering=0)
        self.buffer, self.next_id, self.events = b"", 0, []

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = self.receive_pipe.read(1 << 16)
            if not chunk:
                self.log.seek(0)
                output = self.log.read()[-2000:].decode(errors="replace")
                raise RuntimeError(f"Chromium closed its DevTools pipe:\n{output}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict[str, Any]:
        """Send a command and wait for its reply (events seen meanwhile go to ``events``)."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.send_pipe.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._receive(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pipe in (self.send_pipe, self.receive_pipe, self.log):
            pipe.close()


IMAGES = ("JSON.stringify(Array.from(document.images).map(i => ({src: i.getAttribute('src'), "
          "complete: i.complete, width: i.naturalWidth})))")


def check_report(html: str | Path, screenshot: str | Path | None = None, width: int = 1300,
                 executable: str | None = None) -> dict[str, Any]:
    """Load ``html`` in headless Chromium; return {"images": [{src, complete, width}], "missing":
    [src of images that did not load], "requests": [URLs the page asked for], "external": [those
    that are not files next to it], "ok": bool}. Saves the full page to ``screenshot`` if given."""
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError(f"no Chromium found (tried $HEPDL_CHROMIUM and {', '.join(CANDIDATES)})")
    page = Path(html).resolve()
    with tempfile.TemporaryDirectory(prefix="hepdl-chromium-") as profile:
        browser = _DevTools(executable, profile)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            browser.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": 1000, "deviceScaleFactor": 1,
                                                                 "mobile": False}, session)
            browser.call("Network.enable", session=session)
            browser.call("Page.enable", session=session)
            browser.call("Page.navigate", {"url": page.as_uri()}, session)
            browser.wait_for("Page.loadEventFired")
            images = json.loads(browser.call("Runtime.evaluate", {"expression": IMAGES, "returnByValue": True},
                                             session)["result"]["value"])
            if screenshot is not None:
                size = browser.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
                shot = browser.call("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}, session)
                Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        finally:
            browser.close()
    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    folder = page.parent.as_uri() + "/"
    external = [url for url in requests if not url.startswith(folder)]
    missing = [image["src"] for image in images if not (image["complete"] and image["width"] > 0)]
    return {"page": str(page), "images": images, "missing": missing, "requests": requests, "external": external,
            "ok": bool(images) and not missing and not external}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", help="the report's index.html")
    parser.add_argument("--screenshot", help="save the whole page as this PNG")
    parser.add_argument("--width", type=int, default=1300, help="window width in CSS pixels (default 1300)")
    args = parser.parse_args(argv)
    try:
        result = check_report(args.html, args.screenshot, args.width)
    except FileNotFoundError as err:
        print(f"check_report_in_browser: {err}", file=sys.stderr)
        return 2
    summary = {k: result[k] for k in ("page", "missing", "external", "ok")}
    summary["images"] = len(result["images"])
    print(json.dumps(summary, indent=1))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
