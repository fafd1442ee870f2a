"""A bounded memo for the serving path's repeated values (reason sentences, encoded advice).

A plain dict read with `.get` (the cheapest lookup there is: these are read for every offer),
emptied when full rather than evicting one by one: what repeats comes back at once, and memory
stays bounded whatever clients send.
"""


class BoundedMemo(dict):
    """A dict of at most `limit` entries; `remember` stores a value, emptying the memo first if full."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def remember(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
