"""``greeter NAME``: say hello."""

import click


@click.command()
@click.argument("name", default="world")
def main(name: str) -> None:
    """Print a greeting for NAME."""
    click.echo(f"Hello, {name}!")
