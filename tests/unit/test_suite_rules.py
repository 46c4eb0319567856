"""Rules the suite keeps about itself.

Litestar's ``AsyncTestClient`` hands each request to the app through a blocking portal
and returns only once it is answered, so ``asyncio.gather`` over its requests runs them
one after another: a "concurrent" test written that way proves nothing about races. Such
tests take ``live_client`` (a real uvicorn) instead; this check finds one that does not.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _gathers_over_the_test_client(path: Path, root: Path = TESTS) -> list[str]:
    source = path.read_text()
    found: list[str] = []
    if "gather" not in source:
        return found
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.AsyncFunctionDef) or not node.name.startswith("test_"):
            continue
        if "client" not in {a.arg for a in node.args.args}:
            continue
        # what each local name was built from, so ``gather(*sends)`` is read through
        assigned: dict[str, str] = {}
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        assigned[target.id] = assigned.get(target.id, "") + (
                            ast.get_source_segment(source, stmt.value) or ""
                        )
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "gather"
                and any("client" in _read_through(source, a, assigned) for a in call.args)
            ):
                found.append(f"{path.relative_to(root)}::{node.name}")
    return found


def _read_through(source: str, arg: ast.expr, assigned: dict[str, str]) -> str:
    inner = arg.value if isinstance(arg, ast.Starred) else arg
    if isinstance(inner, ast.Name):
        return assigned.get(inner.id, "")
    return ast.get_source_segment(source, arg) or ""


def test_no_concurrency_test_gathers_requests_of_the_in_process_client() -> None:
    offenders = [
        name
        for path in sorted(TESTS.rglob("test_*.py"))
        for name in _gathers_over_the_test_client(path)
    ]
    assert offenders == [], "use live_client for concurrent requests: " + ", ".join(offenders)


def test_the_check_finds_a_gather_over_the_in_process_client(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import asyncio\n"
        "async def test_x(client):\n"
        "    await asyncio.gather(*(client.post('/a') for _ in range(3)))\n"
        "async def test_z(client):\n"
        "    sends = [client.post('/a') for _ in range(3)]\n"
        "    await asyncio.gather(*sends)\n"
        "async def test_y(live_client):\n"
        "    client = live_client\n"
        "    await asyncio.gather(*(client.post('/a') for _ in range(3)))\n"
    )
    assert [n.split("::")[1] for n in _gathers_over_the_test_client(sample, tmp_path)] == [
        "test_x",
        "test_z",
    ]
