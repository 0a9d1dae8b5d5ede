"""The review page end to end in a real headless Chromium (Debian's chromium + chromium-driver)
at 1366x620 (a laptop with browser chrome): every filmstrip label visible, a legend, zoom; label
a range with the keyboard (Caps Lock, Shift), accept, reload, export; a stale tab reloads and
says why; the header and queue follow every decision; the re-tag button. Skipped where no browser
is installed; .ci/run installs it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from occreid.review.app import ReviewContext
from occreid.review.export import export

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="no chromium / chromedriver found"),
]
SIZE = (1366, 620)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_window_size(*SIZE)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, condition: Any, timeout: float = 15.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _open(browser: Any, server: str) -> str:
    from selenium.webdriver.common.by import By

    browser.get(server)
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    return str(browser.find_element(By.CSS_SELECTOR, "#info b").text)


def _labels(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('#strip .cell .lab')].map((l) => l.textContent)"
        )
    )


def _key(driver: Any, key: str, code: str, shift: bool = False) -> None:
    """One key as the keyboard sends it (Caps Lock: an upper-case key without Shift)."""
    event = {"key": key, "code": code, "modifiers": 8 if shift else 0}
    if len(key) == 1:
        event["text"] = key
    driver.execute_cdp_cmd("Input.dispatchKeyEvent", {"type": "keyDown", **event})
    driver.execute_cdp_cmd("Input.dispatchKeyEvent", {"type": "keyUp", **event})


VISIBLE_JS = """
return [...document.querySelectorAll('#strip .cell .lab')].map((lab) => {
  const r = lab.getBoundingClientRect();
  const inside = r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return inside && r.height > 0 && (hit === lab || lab.contains(hit));
});
"""


def test_at_1366x620_every_label_shows_with_a_legend_and_the_preview_zooms(
    session: ReviewContext, server: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    key = _open(browser, server)
    assert browser.execute_script("return [innerWidth, innerHeight]")[1] <= SIZE[1]
    seen = browser.execute_script(VISIBLE_JS)
    assert len(seen) == session.store.tracklet(key)["frames"] and all(seen), seen
    assert not browser.find_element(By.ID, "tables").is_displayed()  # folded away
    legend = browser.find_element(By.ID, "legend").text
    assert "tenths" in legend and "more than one person" in legend
    box = browser.find_element(By.ID, "frame-box")
    small = box.size["height"]
    _key(browser, "z", "KeyZ")
    _wait(browser, lambda d: box.size["height"] > 2 * small)
    _key(browser, "Escape", "Escape")
    _wait(browser, lambda d: box.size["height"] == small)
    browser.save_screenshot(str(tmp_path / "page.png"))


def test_keys_with_caps_lock_and_shift_and_space_never_repeats_a_button(
    session: ReviewContext, server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    key = _open(browser, server)
    _key(browser, "X", "KeyX")  # Caps Lock on: 10
    _wait(browser, lambda d: _labels(d)[0] == "10")
    _key(browser, "P", "KeyP")
    _wait(
        browser,
        lambda d: "persons" in d.find_element(By.CSS_SELECTOR, ".cell .lab").get_attribute("class"),
    )
    _key(browser, "ArrowRight", "ArrowRight", shift=True)  # Shift still held: a digit is "#"
    _key(browser, "#", "Digit3", shift=True)
    _wait(browser, lambda d: _labels(d)[:2] == ["3", "3"])
    second = str(session.store.tracklet(key)["frame_rows"][1]["proposed_occlusion"])
    _key(browser, "U", "KeyU")  # Caps Lock undo: the range back, the 10 stays
    _wait(browser, lambda d: _labels(d)[:2] == ["10", second])
    browser.find_element(By.CSS_SELECTOR, '#buttons button[data-v="5"]').click()
    _wait(browser, lambda d: _labels(d)[0] == "5")
    _key(browser, "2", "Digit2")
    _wait(browser, lambda d: _labels(d)[0] == "2")
    decisions = len(session.store.history()["id"].unique())
    _key(browser, " ", "Space")
    time.sleep(0.5)
    assert _labels(browser)[0] == "2" and len(session.store.history()["id"].unique()) == decisions


def _write_elsewhere(session: ReviewContext, key: str, span: tuple[int, int], value: int) -> None:
    """Another tab (another reviewer) labels frames ``span`` of ``key``."""
    version = session.store.tracklet(key)["version"]
    session.store.set_frames(key, span, "occlusion", value, ("bob", "other-tab"), version)


def test_a_stale_tab_reloads_the_tracklet_and_says_why(
    session: ReviewContext, server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    key = _open(browser, server)
    _write_elsewhere(session, key, (0, 0), 8)
    _key(browser, "4", "Digit4")  # made on what this tab showed
    _wait(browser, lambda d: "another tab" in d.find_element(By.ID, "status").text)
    _wait(browser, lambda d: _labels(d)[0] == "8")  # the store's value, reloaded
    assert session.store.tracklet(key)["frame_rows"][0]["occlusion"] == 8
    _key(browser, "4", "Digit4")  # on the reloaded version: written
    _wait(browser, lambda d: _labels(d)[0] == "4")
    assert session.store.tracklet(key)["frame_rows"][0]["occlusion"] == 4


def test_a_tab_learns_of_writes_made_elsewhere(
    session: ReviewContext, server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    _write_elsewhere(session, _open(browser, server), (0, 1), 9)
    _wait(browser, lambda d: _labels(d)[:2] == ["9", "9"])  # no key pressed here
    assert "another reviewer" in browser.find_element(By.ID, "status").text


def test_label_a_range_accept_reload_and_export(
    session: ReviewContext, server: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    key = _open(browser, server)
    cells = browser.find_elements(By.CSS_SELECTOR, "#strip .cell")
    assert len(cells) == session.store.tracklet(key)["frames"] and len(cells) >= 3
    proposed = [f["proposed_occlusion"] for f in session.store.tracklet(key)["frame_rows"][:3]]
    cells[0].click()
    keys = ActionChains(browser)
    keys.key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).key_up(Keys.SHIFT)
    keys.send_keys("3").perform()
    _wait(browser, lambda d: _labels(d)[:3] == ["3", "3", "3"])
    changed = sum(p != 3 for p in proposed)
    _wait(browser, lambda d: d.find_element(By.ID, "changed-count").text == str(changed))
    current = browser.find_element(By.CSS_SELECTOR, f'#queue li[data-key="{key}"]')
    assert f"{changed} changed" in current.text or changed == 0  # the queue follows too
    if shot := os.environ.get("OCCREID_REVIEW_SCREENSHOT"):
        browser.save_screenshot(shot)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#info b").text != key)
    _wait(browser, lambda d: d.find_element(By.ID, "reviewed-count").text == "1")
    browser.refresh()
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    assert browser.find_element(By.ID, "reviewed-count").text == "1"
    out = tmp_path / "reviewed.csv"
    export(session.store, out)
    table = pd.read_csv(out)
    mine = table[table["path"].str.startswith(key + "/")].reset_index(drop=True)
    assert mine.loc[:2, "occlusion"].tolist() == [3, 3, 3] and mine["reviewed"].eq(1).all()
    assert table["reviewed"].sum() == len(mine)


def test_the_re_tag_button_re_tags_from_the_decisions_and_the_header_estimates_accuracy(
    browser: Any, server: str, session: ReviewContext, review_labels: Path
) -> None:
    from selenium.webdriver.common.by import By

    from occreid.pseudolabel.cache import LabelCache
    from occreid.review.retag import Retagger

    store = session.store
    for row in store.tracklets().head(6).itertuples():  # a reviewer who finds them all clear
        who, last = ("ann", "setup-page"), row.frames - 1
        store.set_frames(row.key, (0, last), "occlusion", 0, who, row.version)
        store.set_frames(row.key, (0, last), "persons", 1, who, row.version + 1)
        store.set_tracklet(row.key, "accepted", 1, who, row.version + 2)
    session.labels = LabelCache(review_labels)
    session.retag = Retagger(session.labels)
    _open(browser, server)
    assert "unreviewed tags ~" in browser.find_element(By.ID, "unreviewed-accuracy").text
    browser.find_element(By.ID, "retag").click()
    _wait(browser, lambda d: "re-tagged with a calibration" in d.find_element(By.ID, "status").text)
    assert len(store.proposal_sets()) == 2


def test_on_an_image_folder_the_page_speaks_of_images_and_file_name_cameras(
    image_session: ReviewContext, image_server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    key = _open(browser, image_server)
    _wait(browser, lambda d: "reviewed" in d.find_element(By.ID, "progress").text)
    header = browser.find_element(By.ID, "progress").text
    assert "0 / 18 images reviewed" in header and "excluded" not in header
    camera = int(key.split("_c")[1][0])  # 0001_c1s1_...: camera 1
    info = browser.find_element(By.ID, "info").text
    assert f"camera {camera} ·" in info and "frames" not in info
    assert not browser.find_element(By.ID, "exclude-key").is_displayed()
    _key(browser, "Enter", "Enter")  # accept: the header follows, in images
    _wait(browser, lambda d: "1 / 18 images" in d.find_element(By.ID, "progress").text)
    accuracy = browser.find_element(By.ID, "unreviewed-accuracy").text
    assert "from 1 reviewed image)" in accuracy and "100%-100%" not in accuracy
    shown = browser.find_element(By.TAG_NAME, "body").text
    assert "tracklet" not in shown and "1 frames" not in shown and "nan" not in shown.lower()
    if os.environ.get("OCCREID_SCREENSHOT"):
        browser.save_screenshot(os.environ["OCCREID_SCREENSHOT"])
