"""A tiny Flask app that asks another service for the time."""

from __future__ import annotations

import requests
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> dict[str, str]:
    reply = requests.get("https://worldtimeapi.org/api/ip", timeout=5)
    return {"time": reply.json().get("datetime", "unknown")}
