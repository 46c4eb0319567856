"""The personal-data hook: the wiring collects every context's exporter, in dependency
order, under the kernel-owned name ``personal_data``, and the collector asks each."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.di import Provide
from sqlalchemy import MetaData

from hub.kernel.contexts import ContextModule
from hub.kernel.errors import DependencyUnavailable
from hub.kernel.inject import WiringError
from hub.kernel.personal_data import PersonalDataExport
from hub.kernel.settings import Settings
from hub.kernel.wiring import check_unique, wire


class _Kernel:
    def __init__(self) -> None:
        self.services: dict[str, Any] = {}
        self.idempotent_writes = object()
        self.settings = Settings()

    def bind(self, module: ContextModule) -> str:
        return module.name


class _Exporter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.asked: list[uuid.UUID] = []

    async def export_personal_data(self, user_id: uuid.UUID) -> dict[str, Any]:
        self.asked.append(user_id)
        return {"from": self.name}


def _module(name: str, exporter: _Exporter | None) -> ContextModule:
    dependency = f"{name}_personal_data"
    return ContextModule(
        name=name,
        metadata=MetaData(schema=name),
        services=(lambda rt: {dependency: exporter}) if exporter else None,
        personal_data=dependency if exporter else None,
    )


async def test_the_wiring_collects_every_declared_exporter_in_order() -> None:
    kernel = _Kernel()
    a, c = _Exporter("a"), _Exporter("c")
    wire(kernel, [_module("a", a), _module("b", None), _module("c", c)])  # type: ignore[arg-type]
    collector = kernel.services["personal_data"]
    assert isinstance(collector, PersonalDataExport)
    assert collector.contexts == ("a", "c")
    user = uuid.uuid4()
    assert await collector.export(user) == {"a": {"from": "a"}, "c": {"from": "c"}}
    assert a.asked == c.asked == [user]


async def test_a_declared_exporter_nobody_provides_is_a_503() -> None:
    collector = PersonalDataExport([("a", "a_personal_data")], {})
    with pytest.raises(DependencyUnavailable):
        await collector.export(uuid.uuid4())


def test_personal_data_is_the_kernels_name() -> None:
    with pytest.raises(WiringError, match="personal_data"):
        check_unique(
            [
                ContextModule(
                    name="a",
                    metadata=MetaData(schema="a"),
                    dependencies={"personal_data": Provide(dict, sync_to_thread=False)},
                )
            ]
        )
