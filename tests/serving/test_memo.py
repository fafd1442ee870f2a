"""The serving path's bounded memo."""

from serving.memo import BoundedMemo


def test_a_full_memo_is_emptied_before_it_remembers_more():
    memo = BoundedMemo(3)
    for key in "abc":
        assert memo.remember(key, key.upper()) == key.upper()
    assert memo.get("a") == "A" and len(memo) == 3
    assert memo.remember("d", "D") == "D"
    assert dict(memo) == {"d": "D"}  # emptied, then the new value kept: never above the limit
