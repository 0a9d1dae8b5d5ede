import numpy as np
import pytest

from occreid.engine.clips import chunk_ranges, eval_clips, train_clip


def test_long_tracklet_gives_strided_clip_from_random_start() -> None:
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(2000):
        idx = train_clip(100, 4, 8, rng)
        assert np.all(np.diff(idx) == 8) and idx[0] >= 0 and idx[-1] < 100
        starts.add(int(idx[0]))
    assert starts == set(range(100 - 24))  # every start whose clip fits is reachable


def test_every_frame_of_a_chunk_can_be_drawn() -> None:
    rng = np.random.default_rng(3)
    clips = [train_clip(32, 4, 8, rng) for _ in range(400)]
    assert {int(c[0]) for c in clips} == set(range(8))
    assert set(np.concatenate(clips).tolist()) == set(range(32))


def test_short_tracklet_gives_sorted_distinct_frames() -> None:
    idx = train_clip(10, 4, 8, np.random.default_rng(1))
    assert len(set(idx.tolist())) == 4 and np.all(np.diff(idx) > 0) and idx.max() < 10


def test_tracklet_shorter_than_a_clip_repeats_frames() -> None:
    idx = train_clip(2, 4, 8, np.random.default_rng(2))
    assert len(idx) == 4 and set(idx.tolist()) <= {0, 1} and np.all(np.diff(idx) >= 0)


def test_test_clips_cover_every_frame_once_and_loop_pad_the_last() -> None:
    clips = eval_clips(150, 64)
    assert [len(c) for c in clips] == [64, 64, 64]
    assert np.array_equal(np.concatenate(clips)[:150], np.arange(150))
    assert clips[-1][:22].tolist() == list(range(128, 150))
    assert clips[-1][22:].tolist() == [*range(128, 150), *range(128, 148)]


@pytest.mark.parametrize(
    ("n", "chunk", "expected"),
    [
        (100, 32, [(0, 32), (32, 64), (64, 100)]),
        (112, 32, [(0, 32), (32, 64), (64, 112)]),
        (127, 32, [(0, 32), (32, 64), (64, 127)]),
        (128, 32, [(0, 32), (32, 64), (64, 96), (96, 128)]),
        (63, 32, [(0, 63)]),
        (20, 32, [(0, 20)]),
        (500, 0, [(0, 500)]),
    ],
)
def test_chunks(n: int, chunk: int, expected: list[tuple[int, int]]) -> None:
    assert chunk_ranges(n, chunk) == expected
