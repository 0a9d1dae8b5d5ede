"""An OccreidError raised in a DataLoader worker reaches the user as its own one line."""

from __future__ import annotations

import pytest
from torch.utils.data import DataLoader, Dataset

from occreid.common.errors import OccreidError, user_message


class _Broken(Dataset[int]):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        raise OccreidError("frames/0001.jpg: cannot decode this frame; replace or remove it")


def test_an_error_from_a_worker_process_is_its_own_line() -> None:
    with pytest.raises(OccreidError) as caught:
        next(iter(DataLoader(_Broken(), num_workers=1)))
    assert "Traceback" in str(caught.value)  # what torch re-raises in the main process
    line = user_message(caught.value)
    assert line == "frames/0001.jpg: cannot decode this frame; replace or remove it"


def test_a_message_made_in_this_process_is_left_as_it_is() -> None:
    err = OccreidError("two lines\noccreid is fine")
    assert user_message(err) == "two lines\noccreid is fine"
