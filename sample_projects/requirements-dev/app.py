"""A tiny Flask app: a greeting and a health check."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "Hello from the container\n"


@app.get("/health")
def health() -> object:
    return jsonify(status="ok")
