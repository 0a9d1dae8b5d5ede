"""`occreid review` on the command line: every refusal is one line, before the URL is printed."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from occreid.cli.main import main
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session


def _one_line(*args: str, input: str | None = None) -> str:
    r = CliRunner().invoke(main, ["review", *args], input=input)
    assert r.exit_code != 0 and r.output.startswith("Error: "), r.output
    assert r.output.strip().count("\n") == 0, r.output
    return r.output


def test_bad_input_is_one_line_before_anything_starts(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        return _one_line(*args, "--export", str(tmp_path / "o.csv"))

    assert "none of train/ query/ gallery/" in run(str(tmp_path), "--annotations", str(tags))
    table = pd.read_csv(tags)
    table.loc[0, "occlusion"] = 12
    table.to_csv(tmp_path / "bad.csv", index=False)
    assert "not an integer in 0-10" in run(
        str(review_source), "--annotations", str(tmp_path / "bad.csv")
    )
    table.loc[0, ["path", "occlusion"]] = ["train/0001/0001/nope.jpg", 0]
    table.to_csv(tmp_path / "unknown.csv", index=False)
    assert "not in the source" in run(
        str(review_source), "--annotations", str(tmp_path / "unknown.csv")
    )


def test_an_export_into_a_missing_folder_is_one_line_and_opens_no_store(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    out = tmp_path / "typo" / "reviewed.csv"
    args = [str(review_source), "--annotations", str(tags), "--export", str(out)]
    assert f"no folder {out.parent}" in _one_line(*args)
    assert not out.parent.exists() and not Path(f"{tags}.review.sqlite").exists()


def test_a_port_in_use_is_one_line_and_no_url(review_source: Path, tags: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        args = [str(review_source), "--annotations", str(tags), "--reviewer", "ann"]
        out = _one_line(*args, "--port", str(port))
    assert f"port {port} is in use" in out and "http://" not in out


@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_bad_ports_are_one_line(review_source: Path, tags: Path, port: str) -> None:
    args = [str(review_source), "--annotations", str(tags), "--reviewer", "ann"]
    assert "a port is 1-65535" in _one_line(*args, "--port", port)


def test_without_a_terminal_the_reviewer_option_is_named(review_source: Path, tags: Path) -> None:
    out = _one_line(str(review_source), "--annotations", str(tags), input="")
    assert "--reviewer NAME" in out


def test_the_start_up_line_says_what_a_changed_csv_did(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    open_session(ReviewOptions(source=review_source, annotations=tags), "ann")
    table = pd.read_csv(tags)
    table.loc[:4, "occlusion"] = (table.loc[:4, "occlusion"] + 1) % 11
    table.to_csv(tags, index=False)
    out = tmp_path / "o.csv"
    r = CliRunner().invoke(
        main, ["review", str(review_source), "--annotations", str(tags), "--export", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert "5 frames have new proposals" in r.output and "0 decisions now differ" in r.output


def test_a_store_opened_with_another_csv_names_the_one_it_followed(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    store = tags.with_name(tags.name + ".review.sqlite")
    open_session(ReviewOptions(source=review_source, annotations=tags), "ann")
    other = tmp_path / "other.csv"
    table = pd.read_csv(tags)
    table.loc[:2, "occlusion"] = (table.loc[:2, "occlusion"] + 1) % 11
    table.to_csv(other, index=False)
    args = ["review", str(review_source), "--annotations", str(other), "--store", str(store)]
    r = CliRunner().invoke(main, [*args, "--export", str(tmp_path / "o.csv")])
    assert r.exit_code == 0, r.output
    assert f"this store followed {tags.resolve()}; it now follows this CSV" in r.output
    assert "3 frames have new proposals" in r.output and "the CSV changed" not in r.output


def test_a_store_option_naming_another_file_is_one_line(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    args = [str(review_source), "--annotations", str(tags), "--export", str(tmp_path / "o.csv")]
    assert "not a review store" in _one_line(*args, "--store", str(tags))  # the CSV itself
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    con.close()
    assert "not a review store" in _one_line(*args, "--store", str(other))
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as con:
        con.execute("CREATE TABLE frames (path TEXT)")
        con.execute("PRAGMA user_version = 99")
    con.close()
    assert "newer occreid" in _one_line(*args, "--store", str(newer))
