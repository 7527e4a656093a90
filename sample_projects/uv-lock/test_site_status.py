from site_status import load_urls


def test_urls_from_the_command_line():
    assert load_urls(None, ("https://example.org",)) == ["https://example.org"]
