"""A bare Litestar app with one JSON route: the floor every endpoint is compared to.

``/items/{id}`` answers what the database reads answer, without reading anything: the
bare cost of a route with a path parameter, so a read's own share can be told apart.
Run: ``uvicorn bench.refs.bare_json:app``.
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/json", sync_to_thread=False)
def json_route() -> dict[str, str]:
    return {"status": "ok"}


@get("/items/{item_id:int}")
async def echo_item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "name": f"item-{item_id:04d}", "quantity": item_id * 7 % 100}


app = Litestar(route_handlers=[json_route, echo_item], debug=False, logging_config=None)
