#!/usr/bin/env python3
"""The real-time upstream of the browser suite: a Socket.IO server (python-socketio on aiohttp)
and a raw WebSocket echo, behind Envoy + edge-cors.

python-socketio's own CORS handling is off (`cors_allowed_origins=[]`: it neither checks the
Origin nor sends a CORS header), so edge-cors alone decides, as in a deployment where the
gateway owns CORS. Every request is recorded under the `case` query parameter the page sends,
so that the suite can count, per case, what reached the server:

- `requests`: HTTP requests (polling and WebSocket handshakes), with the transport asked for;
- `connects`: Socket.IO connections accepted (the `connect` event), with the Cookie header seen;
- `upgrades`: WebSocket handshakes the raw echo completed (a Socket.IO upgrade shows as the
  transport `websocket` in the `pong`).

`GET /__counts` returns them as JSON. Socket.IO events: on connect the server emits `welcome`
(the Cookie it received, the transport); `ping` is answered by `pong` with the payload and the
transport the server sees the connection on at that moment. The raw echo at `/ws/echo` answers
every text message with `echo:` + message.

Usage: realtime_server.py PORT
"""
from __future__ import annotations

import sys
from collections import defaultdict
from urllib.parse import parse_qs

import socketio
from aiohttp import WSMsgType, web

COUNTS: dict = defaultdict(lambda: {"requests": [], "connects": [], "upgrades": 0})


def case_of(query: str) -> str:
    return parse_qs(query).get("case", ["-"])[0]


# The server leaves CORS to the gateway: no allowed-origin list of its own, no CORS headers.
sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])


@sio.event
async def connect(sid, environ, auth):
    cookie = environ.get("HTTP_COOKIE", "")
    transport = sio.transport(sid)
    COUNTS[case_of(environ.get("QUERY_STRING", ""))]["connects"].append(
        {"origin": environ.get("HTTP_ORIGIN"), "cookie": cookie, "transport": transport})
    await sio.emit("welcome", {"cookie": cookie, "transport": transport}, to=sid)


@sio.event
async def ping(sid, data):
    return {"echo": data, "transport": sio.transport(sid)}


@web.middleware
async def record(request: web.Request, handler):
    if request.path != "/__counts":
        entry = COUNTS[case_of(request.query_string)]
        entry["requests"].append({"method": request.method, "origin": request.headers.get("origin"),
                                  "transport": request.query.get("transport", "-"),
                                  "upgrade": request.headers.get("upgrade", "").lower() == "websocket"})
    return await handler(request)


async def echo(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    COUNTS[case_of(request.query_string)]["upgrades"] += 1
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str("echo:" + message.data)
    return ws


async def counts(_request: web.Request) -> web.Response:
    return web.json_response(COUNTS)


def main() -> None:
    app = web.Application(middlewares=[record])
    sio.attach(app)
    app.router.add_get("/ws/echo", echo)
    app.router.add_get("/ws-open/echo", echo)
    app.router.add_get("/__counts", counts)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
