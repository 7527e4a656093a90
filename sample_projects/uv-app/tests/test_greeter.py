from click.testing import CliRunner

from greeter import main


def test_greets() -> None:
    assert CliRunner().invoke(main, ["uv"]).output == "Hello, uv!\n"
