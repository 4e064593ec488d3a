"""The process-wide memos stay bounded in a long batch (tasks/memo.py)."""

from tasks.memo import BoundedMemo


def test_memo_is_emptied_past_its_limit_and_keeps_the_new_entry():
    memo: BoundedMemo[str, int] = BoundedMemo(3)
    for i in range(10):
        assert memo.put(f"k{i}", i) == i
        assert len(memo) <= 4 and memo.get(f"k{i}") == i
    assert memo.get("k0") is None  # forgotten: the memo was emptied on the way
