"""The quick tour's page in a real browser: headless Chromium driven through the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe`` (DevTools messages as
NUL-terminated JSON on file descriptors 3 and 4), so no websocket library is
needed. The test loads ``index.html`` from disk and checks: no console
errors or uncaught exceptions, no request other than the file itself and
``data:`` URIs (the page is self-contained), every image decoded
(``naturalWidth > 0``; also what the page's own load script wrote into
``body[data-loaded]``), the seed's toy numbers and the vocabulary table on the
page; then saves a full-page screenshot.
"""
import base64
import json
import os
import pathlib
import select
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class DevTools:
    """A headless Chromium and one page, spoken to over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, profile: pathlib.Path, width: int = 1200, height: int = 900):
        to_browser_read, self._write_fd = os.pipe()
        self._read_fd, from_browser_write = os.pipe()
        arguments = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                     "--remote-debugging-pipe", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                     "about:blank"]
        # bash moves the pipe ends to descriptors 3 and 4, where --remote-debugging-pipe expects them
        self._log = open(profile.parent / "chromium-stderr.log", "wb")
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_browser_read} 4>&{from_browser_write}', "bash", *arguments],
            pass_fds=(to_browser_read, from_browser_write), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session = None
        self.width, self.height = width, height

    # ---------------------------------------------------------------- protocol
    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer from Chromium over the DevTools pipe")
            ready, _, _ = select.select([self._read_fd], [], [], remaining)
            if ready:
                chunk = os.read(self._read_fd, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the DevTools pipe (exit code {self.process.poll()})")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, timeout: float = 30.0, session: bool = True, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session and self.session is not None:
            message["sessionId"] = self.session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._write_fd, data):]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    # ---------------------------------------------------------------- a page
    def open(self, url: str, timeout: float = 60.0) -> None:
        target = self.call("Target.createTarget", session=False, url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", session=False, targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", timeout)

    def problems(self) -> list[str]:
        """Console errors/warnings, uncaught exceptions and error log entries seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append("console." + params["type"] + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                found.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append("log: " + params["entry"].get("text", ""))
        return found

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path: pathlib.Path, full_page: bool = True, clip_y: float = 0.0,
                   clip_height: float | None = None) -> None:
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = size["height"] if full_page else (clip_height or self.height)
        clip = {"x": 0, "y": clip_y, "width": self.width, "height": min(height, size["height"] - clip_y), "scale": 1}
        shot = self.call("Page.captureScreenshot", timeout=120.0, format="png", captureBeyondViewport=True, clip=clip)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False, timeout=10.0)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._read_fd, self._write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()


IMAGE_REPORT = """JSON.stringify(Array.prototype.map.call(document.images, function (img) {
  return {id: img.id, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
          data: img.src.indexOf("data:image/png;base64,") === 0};
}))"""


@pytest.fixture(scope="module")
def browser_page(quick_tour, tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium); .ci/run installs it")
    folder = tmp_path_factory.mktemp("chromium")
    devtools = DevTools(binary, folder / "profile")
    try:
        devtools.open((quick_tour / "index.html").resolve().as_uri())
        deadline = time.monotonic() + 20
        while devtools.evaluate("document.body.getAttribute('data-loaded')") == "pending":
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        yield devtools, folder
    finally:
        devtools.close()


def test_no_console_errors_and_no_network(browser_page, quick_tour):
    devtools, _ = browser_page
    assert devtools.problems() == []
    page_url = (quick_tour / "index.html").resolve().as_uri()
    foreign = [url for url in devtools.requests() if url != page_url and not url.startswith("data:")]
    assert foreign == [], f"the page asked for something besides itself: {foreign[:5]}"


def test_every_image_loaded(browser_page):
    devtools, _ = browser_page
    images = json.loads(devtools.evaluate(IMAGE_REPORT))
    assert len(images) >= 14  # the figures of the quick tour (tests/report/test_tour.py: MIN_FIGURES)
    broken = [image["id"] for image in images if not (image["complete"] and image["width"] > 0 and image["height"] > 0)]
    assert broken == []
    assert all(image["data"] for image in images)
    # what the page's own load check recorded
    assert devtools.evaluate("document.body.getAttribute('data-loaded')") == f"{len(images)}/{len(images)}"


def test_seed_numbers_and_vocabulary_on_the_page(browser_page):
    devtools, _ = browser_page
    text = devtools.evaluate("document.body.innerText")
    assert "0.049" in text and "1.2e-04" in text
    rows = json.loads(devtools.evaluate(
        "JSON.stringify(Array.prototype.map.call(document.querySelectorAll('table.vocab tbody tr'),"
        " function (tr) { return Array.prototype.map.call(tr.cells, function (td) { return td.innerText; }); }))"))
    pairs = [(row[0], row[1]) for row in rows]
    assert pairs == [("Loss function", "Energy function (or Hamiltonian)"), ("Global minima", "Ground states"),
                     ("Parameters", "Degrees of freedom"),
                     ("Probability distribution of parameters", "Boltzmann distribution"),
                     ("High-dimensional limit", "Thermodynamic limit")]
    # each row's API link leads to an entry of the page's API list
    targets = json.loads(devtools.evaluate(
        "JSON.stringify(Array.prototype.map.call(document.querySelectorAll('table.vocab a'),"
        " function (a) { var id = a.getAttribute('href').slice(1); return [id, !!document.getElementById(id)]; }))"))
    assert targets and all(found for _, found in targets)


def test_screenshot(browser_page, tmp_path):
    devtools, folder = browser_page
    path = folder / "screenshot.png"
    devtools.screenshot(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == devtools.width and height > 3000  # the whole page, not one screen
    shutil.copy(path, tmp_path / "screenshot.png")
    output = pathlib.Path("tour-output")
    if output.is_dir():
        shutil.copy(path, output / "screenshot.png")


def test_the_checks_catch_a_broken_page(tmp_path):
    """Negative control: a broken image, a console error and a remote resource are all detected."""
    binary = find_chromium()
    if binary is None:
        pytest.skip("headless Chromium not installed")
    page = tmp_path / "broken.html"
    one_pixel = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
                 "AAAABJRU5ErkJggg==")
    page.write_text('<!DOCTYPE html><html><body data-loaded="pending">'
                    f'<img id="good" src="data:image/png;base64,{one_pixel}">'
                    '<img id="bad" src="data:image/png;base64,bm90IGEgcG5n">'
                    '<img id="remote" src="http://example.invalid/x.png">'
                    '<script>console.error("deliberate");</script></body></html>')
    devtools = DevTools(binary, tmp_path / "profile")
    try:
        devtools.open(page.resolve().as_uri())
        images = {image["id"]: image for image in json.loads(devtools.evaluate(IMAGE_REPORT))}
        assert images["good"]["width"] == 1 and images["bad"]["width"] == 0
        assert any("deliberate" in problem for problem in devtools.problems())
        assert "http://example.invalid/x.png" in devtools.requests()
    finally:
        devtools.close()
