"""``python fetch.py URL``: print the HTTP status of URL."""

import sys

import requests


def status(url: str) -> int:
    return requests.get(url, timeout=10).status_code


if __name__ == "__main__":
    print(status(sys.argv[1] if len(sys.argv) > 1 else "https://example.org"))
