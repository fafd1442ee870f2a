"""BentoML's floor: an endpoint with the service's signature that does nothing.

    bentoml serve benchmarks.peers.noop_service:NoOp --host 127.0.0.1 --port PORT
"""

from typing import Any

import bentoml


@bentoml.service(name="noop", workers=1, threads=2)
class NoOp:
    @bentoml.api
    def score(self, offers: list[Any]) -> dict:
        return {"results": [{"index": i} for i in range(len(offers))]}
