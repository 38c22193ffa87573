"""Real objects for tests, built through the services, so tests exercise the same paths as users."""

from __future__ import annotations

import itertools

from datanets.models import Datanet, Row
from datanets.services import datanet_upsert, rows_add
from modelfactory.accounts.models import User
from modelfactory.accounts.services import user_upsert

_counter = itertools.count(1)


def make_user(username: str | None = None, *, password: str = "pw") -> User:
    return user_upsert(username=username or f"user{next(_counter)}", password=password)


def make_datanet(
    *,
    owner: User | None = None,
    slug: str | None = None,
    permissioned: bool = False,
    title: str | None = None,
) -> Datanet:
    number = next(_counter)
    return datanet_upsert(
        slug=slug or f"datanet-{number}",
        title=title or f"Datanet {number}",
        description="A datanet made by a test.",
        tags=["test"],
        license="CC-BY-4.0",
        owner=owner or make_user(),
        visibility=Datanet.Visibility.PERMISSIONED if permissioned else Datanet.Visibility.PUBLIC,
    )


def make_rows(
    datanet: Datanet,
    count: int,
    *,
    contributor: User | None = None,
    status: str = Row.Status.APPROVED,
    prefix: str = "row",
) -> list[Row]:
    contributor = contributor or make_user()
    contents = [
        {"prompt": f"{prefix} question {i} of {datanet.slug}?", "completion": f"{prefix} answer {i}."}
        for i in range(count)
    ]
    return rows_add(
        datanet=datanet, contributions=[(contributor, c) for c in contents], status=status, source="test"
    )
