#!/usr/bin/env python3
"""A Python client of walker-service: the whole session flow.

Stubs are generated from the project's proto at run time (grpcio-tools), so
the example always matches the contract it runs against:

    python -m venv .venv && .venv/bin/pip install -r examples/python/requirements.txt
    .venv/bin/python examples/python/walker_client.py --server 127.0.0.1:50051

It acquires a session, lists the runs, loads the newest into patch b
(streaming the stages), rebuilds its reach cache, heartbeats and releases,
printing each answer. With --check it also asserts the answers expected for
the bundled demo run and exits non-zero on any difference.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys
import tempfile
import uuid

import grpc
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
PROTO = "pipeworks/walker/v1/walker.proto"

DEMO_RUN_ID = "20261203_124212_pyphen"
DEMO_REACHES = {
    "clerical": (18, 601, 547),
    "dialect": (88, 601, 601),
    "goblin": (90, 601, 601),
    "ritual": (191, 601, 601),
}
DEMO_CACHE_INPUT_HASH = "3d8672eca16175cf57d3f5814ddc61e7ba6d7d1c98f8f36767db2f3b43013e4c"
DEMO_CACHE_OUTPUT_HASH = "59a365c71ab213d67caab5aab3ef9c021226367944da6505c07d515656c7d655"


def generate_stubs():
    """Compiles the proto into a temporary package and imports it."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="walker-stubs-"))
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(PROTO_DIR / PROTO),
        ]
    )
    if status != 0:
        raise SystemExit(f"protoc failed with status {status}")
    sys.path.insert(0, str(out))
    pb = importlib.import_module("pipeworks.walker.v1.walker_pb2")
    rpc = importlib.import_module("pipeworks.walker.v1.walker_pb2_grpc")
    return pb, rpc


class Checker:
    """Collects differences from the expected answers instead of stopping."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.failures: list[str] = []

    def equal(self, what: str, actual, expected) -> None:
        if self.enabled and actual != expected:
            self.failures.append(f"{what}: expected {expected!r}, got {actual!r}")


def error_name(pb, error) -> str:
    return pb.ErrorCode.Name(error.code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--check", action="store_true", help="assert the demo run's answers")
    args = parser.parse_args()

    pb, rpc = generate_stubs()
    check = Checker(args.check)
    channel = grpc.insecure_channel(args.server)
    grpc.channel_ready_future(channel).result(timeout=30)
    walker = rpc.WalkerServiceStub(channel)
    session = f"py-session-{uuid.uuid4().hex[:8]}"
    holder = "python-tab-1"

    runs = walker.ListRuns(pb.ListRunsRequest(), timeout=10).runs
    print("runs:", [run.run_id for run in runs])
    check.equal("newest run", runs[0].run_id if runs else None, DEMO_RUN_ID)
    run_id = runs[0].run_id

    answer = walker.AcquireLock(
        pb.AcquireLockRequest(session_id=session, lock_holder_id=holder), timeout=10
    )
    print("acquire:", answer.lock_status.status, "-", answer.lock_status.reason)
    check.equal("acquire status", answer.WhichOneof("result"), "lock_status")
    check.equal("acquire", answer.lock_status.status, "acquired")

    # Another tab is refused while this one holds the active session.
    refused = walker.RebuildReachCache(
        pb.RebuildReachCacheRequest(patch="b", lock_holder_id="python-tab-2"), timeout=10
    )
    print("rebuild by another tab:", error_name(pb, refused.error), "-", refused.error.message)
    check.equal("other tab code", error_name(pb, refused.error), "ERROR_CODE_LOCKED")
    check.equal(
        "other tab message",
        refused.error.message,
        "Session is locked by another tab/window. Use Take Over Lock to continue from this tab.",
    )

    stages = []
    state = None
    for event in walker.LoadCorpus(
        pb.LoadCorpusRequest(patch="b", run_id=run_id, lock_holder_id=holder), timeout=120
    ):
        stages.append(event.stage)
        print("load:", event.stage)
        if event.HasField("error"):
            print("load failed:", error_name(pb, event.error), event.error.message)
            check.failures.append(f"load failed: {event.error.message}")
        if event.HasField("state"):
            state = event.state
    check.equal("first stage", stages[:1], ["Loading corpus data"])
    check.equal("last stage", stages[-1:], ["Ready"])
    if state is not None:
        reaches = {r.profile_name: (r.reach, r.total, r.unique_reachable) for r in state.profile_reaches}
        print("reaches:", reaches)
        check.equal("loader status", state.loader_status, "ready")
        check.equal("reaches", reaches, DEMO_REACHES)
    else:
        check.failures.append("the load stream carried no state")

    rebuilt = walker.RebuildReachCache(
        pb.RebuildReachCacheRequest(patch="b", run_id=run_id, lock_holder_id=holder), timeout=120
    )
    if rebuilt.WhichOneof("result") == "rebuilt":
        r = rebuilt.rebuilt
        print("rebuild:", r.status, r.cache_path, r.verification_status, r.verification_reason)
        check.equal("rebuild status", r.status, "rebuilt")
        check.equal("cache input hash", r.ipc_input_hash, DEMO_CACHE_INPUT_HASH)
        check.equal("cache output hash", r.ipc_output_hash, DEMO_CACHE_OUTPUT_HASH)
        check.equal("verification", (r.verification_status, r.verification_reason), ("verified", "cache-rebuilt"))
    else:
        print("rebuild failed:", error_name(pb, rebuilt.error), rebuilt.error.message)
        check.failures.append(f"rebuild failed: {rebuilt.error.message}")

    # The load detached the session; a heartbeat takes the lease again.
    beat = walker.HeartbeatLock(
        pb.HeartbeatLockRequest(session_id=session, lock_holder_id=holder), timeout=10
    )
    print("heartbeat:", beat.lock_status.status, "-", beat.lock_status.reason)
    check.equal("heartbeat", (beat.lock_status.status, beat.lock_status.reason), ("held", "session lock acquired"))

    missing = walker.HeartbeatLock(pb.HeartbeatLockRequest(session_id=session), timeout=10)
    check.equal("missing holder", missing.error.message, "Missing lock_holder_id.")
    check.equal("missing holder code", error_name(pb, missing.error), "ERROR_CODE_INVALID_ARGUMENT")

    released = walker.ReleaseLock(
        pb.ReleaseLockRequest(session_id=session, lock_holder_id=holder), timeout=10
    )
    print("release:", released.lock_status.status, "-", released.lock_status.reason)
    check.equal("release", released.lock_status.status, "released")

    if check.failures:
        print(f"\n{len(check.failures)} unexpected answer(s):", file=sys.stderr)
        for failure in check.failures:
            print("  -", failure, file=sys.stderr)
        return 1
    if args.check:
        print("all answers as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
