"""Certificate documents as PDF, printed by headless Chromium (ADR 0016).

The HTML document is written to a temporary folder and printed from there with every host unresolvable
(the page needs nothing from outside), in a profile of its own, within a time limit; at most two prints
run at once. Chromium is ``HALLMARK_CHROMIUM`` (a command or a path) or the first of ``chromium``,
``chromium-browser`` and ``google-chrome`` on the PATH. Without it the HTML is still served, and a PDF
request is answered 503 ``printer-unavailable``, saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from shared.errors import DomainError

NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 60.0
AT_ONCE = 2  # Chromium takes a few hundred MB while it prints

_slots = threading.BoundedSemaphore(AT_ONCE)


class PrinterUnavailable(DomainError):
    """A certificate document could not be printed as PDF: Chromium is not installed here, or it failed or
    took too long. The HTML document (Accept: text/html) is unaffected."""

    slug = "printer-unavailable"
    title = "PDF printer unavailable"
    status = 503


def find_chromium() -> str | None:
    configured = os.environ.get("HALLMARK_CHROMIUM", "").strip()
    if configured:
        return shutil.which(configured)
    return next((found for found in map(shutil.which, NAMES) if found), None)


def print_pdf(html: str, *, name: str = "certificate", timeout: float | None = None) -> bytes:
    """The document printed to PDF (A4, as its CSS says), or PrinterUnavailable saying why not."""
    chromium = find_chromium()
    if chromium is None:
        where = f"HALLMARK_CHROMIUM={os.environ['HALLMARK_CHROMIUM']!r} is not" if os.environ.get(
            "HALLMARK_CHROMIUM", "").strip() else "Chromium is not"
        raise PrinterUnavailable(
            f"{where} installed on this server, so certificate documents cannot be printed as PDF: install "
            "chromium (Debian: 'apt-get install chromium'; deploy/test-tools.sh does it) or set HALLMARK_CHROMIUM "
            "to its path. The HTML document is available with Accept: text/html.")
    limit = TIMEOUT_SECONDS if timeout is None else timeout
    if not _slots.acquire(timeout=limit):
        raise PrinterUnavailable(f"{AT_ONCE} documents are being printed; try again shortly")
    try:
        with tempfile.TemporaryDirectory(prefix="hallmark-print-") as folder:
            return _print(chromium, Path(folder), html, name, limit)
    finally:
        _slots.release()


def _print(chromium: str, folder: Path, html: str, name: str, limit: float) -> bytes:
    page, pdf = folder / f"{name}.html", folder / f"{name}.pdf"
    page.write_text(html, encoding="utf-8")
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-extensions", "--disable-sync", "--no-first-run",
        "--no-default-browser-check", f"--user-data-dir={folder / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri(),
    ]
    # Its own session, so that on a timeout the whole process group (renderer, GPU and zygote) is ended.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                               env={**os.environ, "HOME": str(folder)})
    try:
        _, stderr = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise PrinterUnavailable(f"Chromium did not print the document within {limit:g} s") from None
    if process.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise PrinterUnavailable(f"Chromium could not print the document (exit {process.returncode}: {tail[0]})")
    return pdf.read_bytes()
