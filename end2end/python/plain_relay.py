"""A plain Python relay: the baseline that docs/benchmarks.md measures hutch's live stream beside.

    python end2end/python/plain_relay.py --http PORT --ws PORT

It does what a small viewer's server does (Dichroview's pattern): `POST /api/documents` takes a
batch of `[name, doc]` pairs (or one pair) over keep-alive HTTP/1.1 and answers
`{"success": true, "stored": N}`; every WebSocket client of `ws://HOST:PORT/run/<uid>` gets each
document of that run as it arrives, as the same frame hutch sends
(`{"type": "update", "topic": "run:<uid>", "seq": n, "data": {"name", "doc"}}`). Nothing is
stored and nothing is replayed: a client gets what arrives after it connected. Each client has a
bounded queue (256 frames, as hutch); a full queue drops the frame for that client only.
"""
import argparse
import asyncio
import json

import websockets

QUEUE = 256


class Relay:
    def __init__(self):
        self.clients: dict[str, set[asyncio.Queue]] = {}
        self.seq: dict[str, int] = {}
        self.descriptors: dict[str, str] = {}

    def publish(self, name: str, doc: dict):
        if name == "start":
            run = doc["uid"]
        elif name == "descriptor":
            run = self.descriptors[doc["uid"]] = doc.get("run_start")
        elif name == "event":
            run = self.descriptors.get(doc.get("descriptor"))
        else:
            run = doc.get("run_start")
        if run is None:
            return
        self.seq[run] = self.seq.get(run, 0) + 1
        frame = json.dumps({"type": "update", "topic": f"run:{run}", "seq": self.seq[run],
                            "data": {"name": name, "doc": doc}})
        for q in self.clients.get(run, ()):
            if q.qsize() < QUEUE:
                q.put_nowait(frame)


async def http_conn(relay: Relay, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            status, reply = 200, {"success": True, "stored": 0}
            try:
                batch = json.loads(body)
                if batch and isinstance(batch[0], str):
                    batch = [batch]
                for name, doc in batch:
                    relay.publish(name, doc)
                reply["stored"] = len(batch)
            except Exception as e:  # noqa: BLE001 - a relay answers what it can
                status, reply = 422, {"success": False, "msg": str(e)}
            out = json.dumps(reply).encode()
            writer.write(
                f"HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\n"
                f"content-length: {len(out)}\r\n\r\n".encode() + out
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def ws_conn(relay: Relay, ws):
    run = ws.request.path.rsplit("/", 1)[-1]
    q: asyncio.Queue = asyncio.Queue()
    relay.clients.setdefault(run, set()).add(q)
    try:
        await ws.send(json.dumps({"type": "subscribed", "topic": f"run:{run}"}))
        while True:
            await ws.send(await q.get())
    except websockets.ConnectionClosed:
        pass
    finally:
        relay.clients[run].discard(q)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http", type=int, required=True)
    p.add_argument("--ws", type=int, required=True)
    a = p.parse_args()
    relay = Relay()
    server = await asyncio.start_server(lambda r, w: http_conn(relay, r, w), "127.0.0.1", a.http)
    async with server, websockets.serve(lambda ws: ws_conn(relay, ws), "127.0.0.1", a.ws,
                                        max_size=None, compression=None):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
