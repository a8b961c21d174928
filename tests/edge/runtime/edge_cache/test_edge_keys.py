"""Request path -> cache key: the key CloudFront reads under pages/, and hostile paths never become keys."""

from __future__ import annotations

import pytest

from edge_cache.keys import MAX_PATH_LENGTH, cache_key


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/", "pages/"),
        ("/news/", "pages/news/"),
        ("/news/today", "pages/news/today"),
        ("/caf%C3%A9", "pages/café"),
        ("/a%20b", "pages/a b"),
    ],
)
def test_page_paths_map_under_the_pages_prefix(path: str, key: str) -> None:
    assert cache_key(path) == key


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/news/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/news/%2E%2E/%2e%2e/secret.txt",
        "/news/..%2fsecret.txt",
        "/news%2F..%2F..%2Fsecret.txt",
        "/news%5c..%5csecret.txt",
        "/news\\..\\secret.txt",
        "/./news",
        "/news//today",
        "//news",
        "/*",
        "/news/*",
        "/news/today%3Fa=1",
        "/news%23top",
        "/%252e%252e/secret.txt",
        "/news%00.html",
        "/news/%0d%0aSet-Cookie:x",
        "/%ff%fe",
        "news/today",
        "",
        "/" + "a" * MAX_PATH_LENGTH,
    ],
)
def test_hostile_paths_never_become_keys(path: str) -> None:
    assert cache_key(path) is None
