"""PHP bracket keys and PHP-shaped JSON (emulator.encoding)."""

from __future__ import annotations

import json

from bitrix24_emulator.encoding import dumps, flatten, parse_pairs, parse_query, urlencode
from hypothesis import given
from hypothesis import strategies as st

names = st.text(alphabet="abcdefghXYZ_", min_size=1, max_size=6)
scalars = st.text(alphabet="abc 123ąę&=?%[]", max_size=8)
nested = st.recursive(
    scalars,
    lambda inner: (
        st.dictionaries(names, inner, min_size=1, max_size=3)
        | st.lists(inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(names, nested, min_size=1, max_size=4))
def test_urlencoded_data_parses_back_to_itself(data):
    assert parse_query(urlencode(data)) == data


def test_parameters_stay_named_even_when_numbered():
    assert parse_query("0=a&1=b") == {"0": "a", "1": "b"}
    assert parse_query("a[0]=x&a[1]=y") == {"a": ["x", "y"]}


def test_php_arrays_keyed_from_zero_are_lists_and_empty_ones_are_brackets():
    assert json.loads(dumps({"a": {}, "b": {"0": 1, "1": 2}, "c": {"1": 1, "2": 2}})) == {
        "a": [],
        "b": [1, 2],
        "c": {"1": 1, "2": 2},
    }


def test_flatten_writes_bracket_keys_and_php_scalars():
    assert flatten({"data": {"FIELDS": {"ID": 5}}, "ok": True, "none": None, "empty": []}) == [
        ("data[FIELDS][ID]", "5"),
        ("ok", "1"),
        ("none", ""),
        ("empty[]", ""),
    ]


def test_keys_without_brackets_and_appends():
    assert parse_pairs([("x", "1"), ("l[]", "a"), ("l[]", "b"), ("m[k][]", "c")]) == {
        "x": "1",
        "l": ["a", "b"],
        "m": {"k": ["c"]},
    }
