"""Screenshots of the admin's main pages for the README and docs (``make screenshots``).

Starts the embedded gateway as ``make run`` does (SQLite, demo backend, demo configuration) in a
throw-away var directory on a free port, sends some traffic through it, then signs in with
Playwright and Debian's chromium (never ``playwright install``) and writes PNG files here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (our own http://127.0.0.1 URLs)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(f"{url}/health") == 200 and get(f"{url}/demo/hello") == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the gateway at {url} did not start")


def traffic(url: str) -> None:
    for n in range(300):
        get(f"{url}/demo/hello?n={n}")
        if n % 10 == 0:
            get(f"{url}/demo/status/503")
            get(f"{url}/nowhere")
        if n % 30 == 0:
            time.sleep(1)


def shoot(url: str, username: str, password: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/admin/login/?next=/admin/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"{url}/admin/")
        page.screenshot(path=HERE / "dashboard.png", full_page=False)
        page.goto(f"{url}/admin/registry/service/")
        page.screenshot(path=HERE / "services.png")
        page.goto(f"{url}/admin/registry/route/")
        page.click("#result_list tbody tr th a")
        page.select_option("#id_auth_mode", "jwt")
        page.screenshot(path=HERE / "route-form.png", full_page=True)
        page.goto(f"{url}/admin/registry/consumer/add/")
        page.fill("#id_name", "shop")
        page.click("input[name=_continue]")
        page.click("#add-api-key")
        page.wait_for_selector("#new-key-dialog")
        page.screenshot(path=HERE / "consumer-key.png")
        page.goto(f"{url}/admin/registry/consumer/")
        page.click("#result_list tbody tr th a")
        page.fill("#id_roles", "orders:read")
        page.click("input[name=_continue]")
        page.click("a.historylink")
        page.locator("#audit-history").scroll_into_view_if_needed()
        page.screenshot(path=HERE / "history.png", full_page=True)
        browser.close()


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="gateway-screenshots-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(GATEWAY_VAR_DIR=str(var), GATEWAY_ADMIN_MFA="off", PYTHONUNBUFFERED="1")
    log = (var / "gateway.log").open("wb")
    argv = [sys.executable, "-m", "gateway_project.launcher", "--port", str(port)]
    gateway = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        username, password = (var / "admin-login.txt").read_text().split("\n")[:2]
        traffic(url)
        shoot(url, username, password)
    finally:
        os.killpg(gateway.pid, signal.SIGTERM)
        gateway.wait(30)
        shutil.rmtree(var, ignore_errors=True)
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(HERE.glob("*.png"))))


if __name__ == "__main__":
    main()
