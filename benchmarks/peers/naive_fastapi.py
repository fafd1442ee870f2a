"""The naive endpoint a data scientist would write first: pydantic, pandas, `build_features`,
then `predict` and `pred_contrib` on the same champion; no advice, no store.

    uvicorn benchmarks.peers.naive_fastapi:app --host 127.0.0.1 --port PORT --workers 1
"""

from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

state: dict = {}


@asynccontextmanager
async def lifespan(_app):
    from training.champion import load_champion

    state["champion"] = load_champion()
    yield


app = FastAPI(lifespan=lifespan)


class Body(BaseModel):
    offers: list[dict[str, Any]]


@app.post("/score")
def score(body: Body) -> dict:
    from features.build import build_features
    from features.ingest import offers_frame_from_json

    champion = state["champion"]
    offers = offers_frame_from_json(body.offers)
    features = build_features(offers, champion.context)
    probabilities = champion.probabilities(features)
    contributions = champion.contributions(features)
    names = list(features.columns)
    results = []
    for i, offer_id in enumerate(offers["offer_id"]):
        top = np.argsort(-np.abs(contributions[i, :-1]))[:3]
        results.append({"offer_id": offer_id, "probability": float(probabilities[i]),
                        "factors": [{"feature": names[j], "contribution": float(contributions[i, j])} for j in top]})
    return {"results": results}
