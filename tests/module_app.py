"""A seeded app shared by the tests of one module, on each backend: for tables of requests that are all refused
before they change anything, where a fresh database per row would only cost time."""

from __future__ import annotations

from conftest import login

from recovery import create_app


def module_app(request, tmp_path_factory):
    """Generator for a module-scoped fixture parametrized with conftest.BACKENDS."""
    folder = tmp_path_factory.mktemp("module_app")
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_templates").fresh(folder, True)
    else:
        url = request.getfixturevalue("pg_templates").fresh(True)
    app = create_app(
        {"DATABASE_URL": url, "TESTING": True, "SECURE_COOKIES": False, "PHOTO_DIR": str(folder / "photos")}
    )
    yield app
    app.extensions["recovery.engine"].dispose()
    if request.param != "sqlite":
        request.getfixturevalue("pg_templates").drop(url)


def signed_in(app, name: str):
    """A test client signed in through the login form as the test user `name`."""
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client
