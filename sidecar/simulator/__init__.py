"""The bundled Graph API simulator: Meta's wire format on localhost.

What ``wa-sidecar simulator`` and ``make run`` start, and what every test and
benchmark talks to. It is development tooling: nothing in the sidecar's
request path imports it (``app.py`` and ``cli.py`` load it on demand).

    server.py    the aiohttp app: messages, token exchange/debug; start/serve
    state.py     settings, runtime config, recorded messages, counters
    faults.py    scripted faults (FaultRule) and their bookkeeping
    errors.py    Meta-shaped error bodies and HTTP statuses per code
    limits.py    130429 throughput and 131056 pair limiters
    webhooks.py  signed status/inbound/account webhook payloads and their dispatcher
    account.py   the simulated account: throughput, quality, messaging limit, their webhooks
    insights.py  Meta's analytics, counted from what the simulator accepted
    graph_reads.py  GET /{node}[/{edge}]: capacity fields, WABA analytics, templates
    auth.py      token and appsecret_proof checks
    control.py   the JSON control API under ``/_sim/``

    handle = await start_simulator(SimulatorSettings(app_secret=b"secret"))
    try:
        handle.state.add_fault(FaultRule(to="+16505551234", code=131026, count=1))
        ...
    finally:
        await handle.close()
"""

from sidecar.simulator.faults import FaultRule
from sidecar.simulator.server import (
    SimulatorHandle,
    create_simulator_app,
    serve_simulator,
    start_simulator,
)
from sidecar.simulator.state import SimulatorSettings, SimulatorState
from sidecar.simulator.webhooks import WebhookUpdate, inbound_message_item, status_item

__all__ = [
    "FaultRule",
    "SimulatorHandle",
    "SimulatorSettings",
    "SimulatorState",
    "WebhookUpdate",
    "create_simulator_app",
    "inbound_message_item",
    "serve_simulator",
    "start_simulator",
    "status_item",
]
