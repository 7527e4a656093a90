"""Check that a list of web sites answer, concurrently."""

from __future__ import annotations

import asyncio
import sys

import click
import httpx


async def status_of(client: httpx.AsyncClient, url: str) -> tuple[str, str]:
    try:
        response = await client.get(url, follow_redirects=True)
    except httpx.HTTPError as error:
        return url, f"error: {error.__class__.__name__}"
    return url, str(response.status_code)


async def check_all(urls: list[str], timeout: float) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await asyncio.gather(*(status_of(client, url) for url in urls))


def load_urls(config: str | None, urls: tuple[str, ...]) -> list[str]:
    if config is None:
        return list(urls)
    import yaml  # the `yaml` extra

    with open(config, encoding="utf-8") as stream:
        return [*urls, *yaml.safe_load(stream)["sites"]]


def run(coroutine):  # type: ignore[no-untyped-def]
    if sys.platform != "win32":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


@click.command()
@click.argument("urls", nargs=-1)
@click.option("--config", type=click.Path(exists=True), help="YAML file with a `sites` list")
@click.option("--timeout", default=5.0, show_default=True, help="seconds per request")
def main(urls: tuple[str, ...], config: str | None, timeout: float) -> None:
    """Print the HTTP status of every URL."""
    for url, status in run(check_all(load_urls(config, urls), timeout)):
        click.echo(f"{status:>6}  {url}")


if __name__ == "__main__":
    main()
