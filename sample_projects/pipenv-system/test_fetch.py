import fetch


def test_status_is_a_function() -> None:
    assert callable(fetch.status)
