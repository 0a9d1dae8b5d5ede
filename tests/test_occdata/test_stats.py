import pandas as pd
import pytest

from occreid.occdata.annotations import is_occluded
from occreid.occdata.stats import TABLE1_BINS, TABLE2_BINS, compute_stats, table1_bin


def _split(tracklets: dict[tuple[int, str], list[tuple[int, int]]]) -> pd.DataFrame:
    """(pid, key) -> [(occlusion, persons) per frame] as a manifest-like table."""
    rows = [(pid, key, o, p) for (pid, key), frames in tracklets.items() for o, p in frames]
    t = pd.DataFrame(rows, columns=["pid", "tracklet", "occlusion", "persons"])
    t["occluded"] = is_occluded(t["occlusion"].to_numpy(), t["persons"].to_numpy())
    return t


def _frames(occluded: int, total: int) -> list[tuple[int, int]]:
    return [(3, 1)] * occluded + [(0, 1)] * (total - occluded)


def test_table1_bin_edges_are_exclusive_below_inclusive_above() -> None:
    # shares 0, 20 %, 30 %, 30.01 %, 40 %, 70 %, 90 %, 90.1 %, 100 %
    k = [0, 1, 3, 3001, 4, 7, 9, 901, 5]
    n = [5, 5, 10, 10000, 10, 10, 10, 1000, 5]
    assert table1_bin(k, n).tolist() == [0, 1, 1, 2, 2, 5, 7, 8, 8]


def test_tables_on_a_worked_example() -> None:
    query = _split(
        {
            (1, "a"): _frames(0, 5),  # 0 %      -> "0"
            (2, "b"): _frames(3, 10),  # 30 %     -> "0-30"
            (3, "c"): _frames(4, 10),  # 40 %     -> "30-40"
            (3, "d"): _frames(3, 3),  # 100 %    -> "90-100"
        }
    )
    gallery = _split(
        {
            (1, "e"): [(0, 2), (1, 1), (2, 1), (0, 1)],  # 75 %   -> "70-80"
            (4, "f"): [(7, 1), (8, 1), (10, 1), (9, 1)],  # 100 %  -> "90-100"
            (4, "g"): [(0, 1)] * 6,  # 0 %    -> "0"
        }
    )
    train = _split({(9, "t"): _frames(1, 4), (9, "u"): _frames(0, 2)})
    stats = compute_stats({"train": train, "query": query, "gallery": gallery})

    assert stats["table1"]["bins"] == TABLE1_BINS
    assert stats["table1"]["query"] == [0.25, 0.25, 0.25, 0, 0, 0, 0, 0, 0.25]
    assert stats["table1"]["gallery"] == pytest.approx([1 / 3, 0, 0, 0, 0, 0, 1 / 3, 0, 1 / 3])

    assert stats["table2"]["bins"] == TABLE2_BINS
    # query: 10 occluded frames, all label 3 -> "20-30"
    assert stats["table2"]["query"] == [0, 0, 1.0, 0, 0, 0, 0, 0]
    # gallery occluded frames: labels 0 (2 persons), 1, 2, 7, 8, 10, 9; unoccluded ones not counted
    assert stats["table2"]["gallery"] == pytest.approx([2 / 7, 1 / 7, 0, 0, 0, 0, 1 / 7, 3 / 7])

    assert stats["table3"] == {
        "train": {"ids": 1, "tracklets": 2, "images": 6},
        "query": {"ids": 3, "tracklets": 4, "images": 28},
        "gallery": {"ids": 2, "tracklets": 3, "images": 14},
    }


def test_no_occluded_frames_gives_zeros_not_nan() -> None:
    clear = _split({(1, "a"): _frames(0, 3)})
    stats = compute_stats({"train": clear, "query": clear, "gallery": clear})
    assert stats["table2"]["query"] == [0.0] * 8
    assert stats["table1"]["query"] == [1.0] + [0.0] * 8
