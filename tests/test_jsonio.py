"""orbat.jsonio: the bytes of dumps, whatever the keys (text keys take a faster path)."""

import datetime as dt
import enum

import numpy as np
import orjson
import pytest

from orbat.jsonio import _default, dumps


class Colour(enum.Enum):
    RED = "red"


CASES = [
    {"a": 1, "b": [1.5, None, True], "c": {"d": "é"}},
    {1: "one", 2.5: "two and a half", None: "none"},
    {"nested": {dt.date(2025, 1, 17): 3, "text": np.int64(4)}},
    {Colour.RED: np.arange(3), "x": np.float64(0.25)},
    [{"k": dt.datetime(2025, 1, 17, 8, 30)}, {True: object.__name__}],
]


@pytest.mark.parametrize("data", CASES)
@pytest.mark.parametrize("indent", [False, True])
def test_dumps_same_bytes_as_with_every_key_option(data, indent):
    options = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | (orjson.OPT_INDENT_2 if indent else 0)
    assert dumps(data, indent=indent) == orjson.dumps(data, default=_default, option=options)


def test_dumps_unencodable_still_raises():
    with pytest.raises(TypeError):
        dumps({"a": float("nan"), (1, 2): 3})
