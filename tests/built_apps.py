"""Built apps kept between tests, each test given a new kernel (``hub.kernel.serving``).

Building the app costs about half a second, most of it Litestar registering ~400 routes,
and is the same for the same settings; it was most of the suite's time. A test now takes a
stopped app built for its settings (or builds one) and :func:`hub.app.renew_kernel` gives
it a new kernel: new connections and services, nothing kept from the test before. An app
is handed to one fixture at a time, so a test that asks for two apps gets two.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
from litestar import Litestar

from hub.app import create_app, renew_kernel
from hub.kernel.settings import Settings

#: At most this many settings keep their idle apps (a module's own settings, the default).
KEPT_SETTINGS = 6

_idle: OrderedDict[bytes, list[Litestar]] = OrderedDict()


@contextmanager
def built_app(settings: Settings) -> Iterator[Litestar]:
    """An app for ``settings`` with a kernel of its own, kept for another test afterwards."""
    key = msgspec.json.encode(settings, enc_hook=repr)
    idle = _idle.get(key)
    if idle:
        app = idle.pop()
        renew_kernel(app)
    else:
        app = create_app(settings, configure_logs=False)
    yield app
    # Kept only once stopped: one a failing test left started is dropped.
    if not app.state.serving.running:
        _idle.setdefault(key, []).append(app)
        _idle.move_to_end(key)
        while len(_idle) > KEPT_SETTINGS:
            _idle.popitem(last=False)
