"""The README's picture of `occreid review`: a toy source with oracle tags and their cache, the app
served on loopback, a range of frames selected in headless Chromium with the overlay on.

    python scripts/review_screenshot.py docs/review.png [WIDTHxHEIGHT]

The default size, 1366x620, is a laptop screen less the browser's own bars.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from occreid.occdata.synth import SynthConfig, synthesize
from occreid.pseudolabel.runner import RunOptions, run
from occreid.review.app import create_app
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session


def main(out: Path, size: tuple[int, int] = (1366, 620)) -> None:
    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    work = Path(tempfile.mkdtemp())
    source, labels = work / "toy", work / "labels"
    synthesize(source, SynthConfig(ids=8, distractors=2, min_frames=24, max_frames=40, seed=4))
    run(RunOptions(root=source, out=labels))
    opts = ReviewOptions(source=source, annotations=labels / "occlusion.csv", labels=labels)
    ctx, _ = open_session(opts, "reviewer")
    ctx.port = 8799
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), port=8799, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for arg in ("--headless=new", "--no-sandbox"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_window_size(*size)
    try:
        driver.get("http://127.0.0.1:8799/")
        WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
        )
        driver.find_elements(By.CSS_SELECTOR, "#strip .cell")[6].click()
        keys = ActionChains(driver).key_down(Keys.SHIFT)
        keys.send_keys(*[Keys.ARROW_RIGHT] * 4).key_up(Keys.SHIFT).send_keys("o").perform()
        time.sleep(1.5)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
        server.should_exit = True
        shutil.rmtree(work, ignore_errors=True)
    print(f"-> {out}")


if __name__ == "__main__":
    size = tuple(int(v) for v in sys.argv[2].split("x")) if len(sys.argv) > 2 else (1366, 620)
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review.png"), (size[0], size[1]))
