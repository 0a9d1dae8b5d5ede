"""The review page end to end in a real headless Chromium (Debian's chromium + chromium-driver):
open a tracklet, label a range with the keyboard, accept, reload, export. Skipped where no
browser is installed; .ci/run installs it."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from occreid.review.app import ReviewContext, create_app
from occreid.review.export import export

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="no chromium / chromedriver found"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(session: ReviewContext) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(session), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition, timeout: float = 15.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def test_label_a_range_accept_reload_and_export(session, server, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server)
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    key = browser.find_element(By.CSS_SELECTOR, "#info b").text
    cells = browser.find_elements(By.CSS_SELECTOR, "#strip .cell")
    assert len(cells) == session.store.tracklet(key)["frames"] and len(cells) >= 3
    cells[0].click()
    keys = ActionChains(browser)
    keys.key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).key_up(Keys.SHIFT)
    keys.send_keys("3").perform()

    def labels(d) -> list[str]:
        return [c.text for c in d.find_elements(By.CSS_SELECTOR, "#strip .cell .lab")]

    _wait(browser, lambda d: labels(d)[:3] == ["3", "3", "3"])
    if shot := os.environ.get("OCCREID_REVIEW_SCREENSHOT"):
        browser.save_screenshot(shot)  # the README's picture (scripts/review_screenshot.sh)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#info b").text != key)
    browser.refresh()
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    assert browser.find_element(By.ID, "reviewed-count").text == "1"
    out = tmp_path / "reviewed.csv"
    export(session.store, out)
    table = pd.read_csv(out)
    mine = table[table["path"].str.startswith(key + "/")].reset_index(drop=True)
    assert mine.loc[:2, "occlusion"].tolist() == [3, 3, 3] and mine["reviewed"].eq(1).all()
    assert table["reviewed"].sum() == len(mine)
    browser.save_screenshot(str(tmp_path / "page.png"))
