"""The garbage collector set for serving, once the champion is loaded.

- `gc.freeze()`: the champion's millions of long-lived objects (trees, context index) move out of
  the collector's sight; full collections scanning them made a batch's validation 5x slower.
- A young-generation threshold of 50,000 net new objects: a request frees what it made by
  reference counting, and scoring makes no garbage in cycles, so young collections find nothing;
  with the default (700, 10, 10) a batch of 1,000 offers, whose objects all live until its
  answer, set off ~90 young, 8 middle and ~1 full collection (~20 % of its CPU). With 50,000 a
  batch sets off none.
"""

import gc

THRESHOLDS = (50_000, 20, 100)


def settle_after_loading() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
