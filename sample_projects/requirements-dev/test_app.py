from app import app


def test_health() -> None:
    response = app.test_client().get("/health")
    assert response.get_json() == {"status": "ok"}
