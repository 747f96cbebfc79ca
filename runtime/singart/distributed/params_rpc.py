"""The Params service over the transport: the server side serves this process's shards (the server
executors the plan's role table gives its rank), the client side (`GrpcParamClient`) is a ParamClient
whose pushes and pulls reach shards in other processes, as `InProcessClient`'s reach shards in its own.

Each server draws its slices' initial values itself, from the plan, as store.init_values does (every
param's values come from a stream named by the job seed and the param's name): no process has to push
every param at start, and no worker can read a slice before its values are there, so Put is left for
values that come from elsewhere (a checkpoint). Between processes on one host (launch.hosts.same_host)
tensors go through shared memory, one segment per (server, param slice, direction) kept for the whole
run, so its pages are allocated once: a gradient is written into its push segment, and the server writes
the values into the slice's pull segment (a fresh segment per call cost 1.1-1.2 GB/s, mostly the kernel
allocating and zeroing pages). Between hosts gradients travel as raw-bytes gRPC and values come back as
a streamed reply (a large unary reply is several times slower than a push on grpcio).
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import grpc
import numpy as np
from singa_proto import plan_pb2
from singa_proto import services_pb2 as pb

from .. import SingaError
from ..launch.hosts import same_host
from ..params.init import init_param
from ..params.shard import Shard, SyncPeer, held_for_clip
from ..params.slicing import Slice, flat_part, server_group_of, slice_table
from ..params.updaters import clip_factor
from ..transport import Framed, Stub, TlsFiles, add_service, build_server, chunks, gather, open_channel
from ..transport.shm import Segment

Executor = tuple[int, int]  # (server group, server id)
MARGIN = 16  # server threads beyond the calls that may wait at once: Put, History, a checkpoint's pulls


def hosted_servers(plan: plan_pb2.PlanProto, rank: int) -> list[Executor]:
    """The server executors the plan's role table gives `rank`."""
    return [(s.group, s.id) for r in plan.roles if r.rank == rank for s in r.servers]


def server_addresses(plan: plan_pb2.PlanProto, ranks: Mapping[int, str]) -> dict[Executor, str]:
    """(server group, id) -> the address of the rank that hosts it, from each rank's address."""
    book = {}
    for role in plan.roles:
        for s in role.servers:
            if role.rank not in ranks:
                raise SingaError(f"server {s.id} of server group {s.group} is on rank {role.rank}, "
                                 f"whose address is not known")
            book[s.group, s.id] = ranks[role.rank]
    return book


def local_shards(plan: plan_pb2.PlanProto, executors: Iterable[Executor],
                 drawn: Mapping[str, np.ndarray] | None = None) -> dict[Executor, Shard]:
    """The shards of `executors`, each holding its slices' initial values: those `drawn` already in this
    process (the values of its workers), else drawn here from the plan."""
    shards = {(g, s): Shard.from_plan(plan, g, s) for g, s in executors}
    entries = {e.name: e for e in plan.params if not e.share_from}
    needed = {spec.param for shard in shards.values() for spec in (h.spec for h in shard.held.values())}
    for name in sorted(needed):
        e = entries[name]
        values = drawn[name] if drawn is not None else init_param(e.conf.init, e.shape, plan.job.seed, name)
        for shard in shards.values():
            for held in shard.held.values():
                if held.spec.param == name:
                    shard.put(name, held.spec.slice_id, flat_part(values, held.spec))
    return shards


def _tensor(request: Framed, what: str) -> np.ndarray:
    """A message's tensor (framing decodes it in the native dtype object the kernels expect)."""
    tensor = request.tensor
    if tensor is None:
        key = request.header.key  # type: ignore[attr-defined]
        raise SingaError(f"param {key.param!r} slice {key.slice}: a {what} without a tensor")
    return tensor


class ParamsServicer:
    """The Params service over this process's shards: decode, call the shard, encode."""

    def __init__(self, plan: plan_pb2.PlanProto, shards: Mapping[Executor, Shard]) -> None:
        self.shards = dict(shards)
        self.specs = {(s.param, s.slice_id): s for slices in slice_table(plan).values() for s in slices}
        cluster = plan.job.cluster
        self.ngroups = (cluster.nworker_groups, cluster.nserver_groups)

    def shard(self, sgroup: int, key: pb.SliceKey) -> Shard:
        """The shard in this process that holds `key` for server group `sgroup`."""
        spec = self.specs.get((key.param, key.slice))
        if spec is None:
            raise SingaError(f"param {key.param!r}: the plan has no slice {key.slice} of it")
        shard = self.shards.get((sgroup, spec.server))
        if shard is None:
            raise SingaError(f"param {key.param!r} slice {key.slice}: server {spec.server} of server "
                             f"group {sgroup} is not in this process")
        return shard

    def Put(self, request: Framed, context: Any) -> Framed:  # named as the RPC
        h = request.header
        self.shard(h.group, h.key).put(h.key.param, h.key.slice, _tensor(request, "Put"), h.step)
        return Framed(pb.Ack())

    def Get(self, request: Framed, context: Any) -> Framed:
        h = request.header
        return Framed(pb.SliceTensor(key=h.key, group=h.group, version=h.min_version), self.values(h))

    def GetStream(self, request: Framed, context: Any) -> Any:
        h = request.header
        return chunks(pb.SliceChunk(key=h.key, version=h.min_version), self.values(h))

    def values(self, h: pb.GetRequest) -> np.ndarray:
        """Worker group h.group's values of the slice after its update of step h.min_version - 1."""
        shard = self.shard(server_group_of(h.group, *self.ngroups), h.key)
        return shard.get(h.group, h.key.param, h.key.slice, h.min_version)

    def Update(self, request: Framed, context: Any) -> Framed:
        h = request.header
        shares = h.shares if h.HasField("shares") else 1
        if shares < 1:
            raise SingaError(f"param {h.key.param!r} slice {h.key.slice}: a gradient of {shares} shares")
        shard = self.shard(server_group_of(h.group, *self.ngroups), h.key)
        shard.update(h.group, h.step, h.key.param, h.key.slice, _tensor(request, "gradient"), shares)
        return Framed(pb.UpdateReply(version=h.step + 1))

    def History(self, request: Framed, context: Any) -> Any:
        h = request.header
        values, count = self.shard(h.group, h.key).history(h.key.param, h.key.slice, h.slot)
        return chunks(pb.SliceChunk(key=h.key, version=count), values)

    def PutHistory(self, request: Framed, context: Any) -> Framed:
        h = request.header
        self.shard(h.group, h.key).put_history(h.key.param, h.key.slice, h.slot, _tensor(request, "history"),
                                               h.version)
        return Framed(pb.Ack())

    def SquareSum(self, request: Framed, context: Any) -> Framed:
        h = request.header
        return Framed(pb.ClipReply(square_sum=self.clip_shard(h).square_sum(h.group, h.step)))

    def ApplyClipped(self, request: Framed, context: Any) -> Framed:
        h = request.header
        self.clip_shard(h).apply(h.group, h.step, h.scale)
        return Framed(pb.Ack())

    def clip_shard(self, h: pb.ClipRequest) -> Shard:
        """The shard of server h.server in worker group h.group's server group."""
        key = (server_group_of(h.group, *self.ngroups), h.server)
        if key not in self.shards:
            raise SingaError(f"server {key[1]} of server group {key[0]} is not in this process")
        return self.shards[key]

    def Sync(self, request: Framed, context: Any) -> Framed:
        h = request.header
        spec = self.specs.get((h.key.param, h.key.slice))
        master = spec.master_group if spec else 0  # an unknown slice is refused by shard()
        values = self.shard(master, h.key).sync(h.key.param, h.key.slice, _tensor(request, "Sync"))
        return Framed(pb.SliceTensor(key=h.key, group=master), values)


def params_threads(plan: plan_pb2.PlanProto, executors: Iterable[Executor]) -> int:
    """Server threads for the Params service of `executors`: a waiting Get holds its thread until the
    update it waits for arrives, so every call that may be under way at once gets one. That is, per
    slice served here, a push and a pull from each worker process of the groups it serves (a process
    pulls a slice after its push, and the next step's push may start as the pull ends) and one
    Hogwild Sync from each other server group. Threads start as calls need them."""
    cluster = plan.job.cluster
    ngroups = (cluster.nworker_groups, cluster.nserver_groups)
    servers = set(executors)
    held: Counter[int] = Counter()  # server group -> its slices served here
    for slices in slice_table(plan).values():
        held.update(g for g, sid in servers for s in slices if s.server == sid)
    procs = {(r.rank, w.group) for r in plan.roles for w in r.workers}
    calls = 2 * sum(held[server_group_of(group, *ngroups)] for _, group in procs)
    syncs = sum(held.values()) * (max(1, ngroups[1]) - 1)
    clips = len(servers) * len(procs) if held_for_clip(plan) else 0  # a waiting SquareSum a process a server
    return calls + syncs + clips + MARGIN


def fanout_threads(plan: plan_pb2.PlanProto) -> int:
    """A client's threads for its calls to several servers at once: a call runs its first server's
    slices on the caller's thread and each other server's on one of these, and a waiting pull holds
    its threads until the update arrives, so a push queued behind pulls could wait for ever. Enough for
    a push and a pull of every param under way at once (a worker's step at most). Threads start as
    calls need them."""
    per_call = [len({s.server for s in slices}) - 1 for slices in slice_table(plan).values()]
    # a clip's calls to each server of a group wait for each other (every process asks them all)
    return 2 * sum(per_call) + max(1, plan.job.cluster.nservers_per_group)


def params_server(plan: plan_pb2.PlanProto, shards: Mapping[Executor, Shard], token: str,
                  addresses: Sequence[str] = ("127.0.0.1:0",), tls: TlsFiles | None = None
                  ) -> tuple[grpc.Server, list[str]]:
    """An unstarted server of the Params service over `shards`, and the addresses it listens on."""
    server, bound = build_server(addresses, token, tls, threads=params_threads(plan, shards))
    add_service(server, "Params", ParamsServicer(plan, shards))
    return server, bound


def rpc_error(err: grpc.RpcError, address: str, what: pb.SliceKey | str) -> SingaError:
    """One line for a failed call about a slice (or `what` else): the server's own refusal (which names
    the param), or what went wrong."""
    code, details = err.code(), " ".join((err.details() or "").split())
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return SingaError(f"params server {address} refused it: {details}")
    about = what if isinstance(what, str) else f"param {what.param!r} slice {what.slice}"
    return SingaError(f"{about}: params server {address}: {code.name if code else 'error'}: {details}")


class SyncStub:
    """A master server group's side of a Hogwild sync, over gRPC (a Shard's SyncPeer)."""

    def __init__(self, stub: Stub, address: str, group: int, shm: bool) -> None:
        self.stub, self.address, self.group, self.shm = stub, address, group, shm

    def sync(self, name: str, slice_id: int, delta: np.ndarray) -> np.ndarray:
        key = pb.SliceKey(param=name, slice=slice_id)
        try:
            reply = self.stub.call("Sync", Framed(pb.SliceTensor(key=key, group=self.group), delta), shm=self.shm)
        except grpc.RpcError as err:
            raise rpc_error(err, self.address, key) from None
        return _tensor(reply, "Sync reply")


def connect_masters(shards: Mapping[Executor, Shard], book: Mapping[Executor, str], token: str,
                    tls: TlsFiles | None = None) -> None:
    """Connect each shard to the master server groups of its slices: a shard of this process directly,
    another process's over gRPC."""
    stubs: dict[str, Stub] = {}
    for (group, server), shard in shards.items():
        peers: dict[int, SyncPeer] = {}
        for (g, s), address in book.items():
            if s != server or g == group:
                continue
            if (g, s) in shards:
                peers[g] = shards[g, s]
                continue
            stub = stubs.setdefault(address, Stub(open_channel(address, token, tls), "Params"))
            peers[g] = SyncStub(stub, address, group, same_host(address))
        shard.connect(peers)


class GrpcParamClient:
    """A ParamClient over the Params services of the servers in an address book ((server group, id) ->
    HOST:PORT): a gradient is cut into the plan's slices, each sent to its server, the servers at once."""

    def __init__(self, plan: plan_pb2.PlanProto, book: Mapping[Executor, str], token: str,
                 tls: TlsFiles | None = None, shared_memory: bool = True, timeout: float | None = None) -> None:
        self.slices = slice_table(plan)
        self.book = dict(book)
        cluster = plan.job.cluster
        self.ngroups = (cluster.nworker_groups, cluster.nserver_groups)
        self.timeout = timeout
        self.channels = {a: open_channel(a, token, tls) for a in set(self.book.values())}
        self.stubs = {a: Stub(c, "Params") for a, c in self.channels.items()}
        self.shm = {a: shared_memory and same_host(a) for a in self.stubs}
        # kept for the run: the segments of each (server, param, slice, direction), one unless calls
        # of it overlap; threads for the fan-out to several servers (as many as calls wait at once:
        # a queued push behind a waiting pull could wait for ever)
        self.segments: dict[tuple[str, str, int, str], list[Segment]] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(fanout_threads(plan), thread_name_prefix="params-fanout")

    def push(self, wgroup: int, step: int, name: str, grad: np.ndarray, shares: int) -> None:
        """Each slice of the gradient to its server, one Update per slice."""
        def send(address: str, s: Slice) -> None:
            header = pb.SliceTensor(key=pb.SliceKey(param=name, slice=s.slice_id), group=wgroup, step=step,
                                    shares=shares)
            with self._segment(address, name, s, "push") as segment:
                self._call(address, "Update", Framed(header, flat_part(grad, s)), shm=self.shm[address],
                           segment=segment)
        self._each_server(wgroup, name, grad, send)

    def pull(self, wgroup: int, step: int, name: str, out: np.ndarray) -> None:
        """Each slice of the values from its server, into `out`; waits for `wgroup`'s step - 1 update."""
        def fetch(address: str, s: Slice) -> None:
            request = Framed(pb.GetRequest(key=pb.SliceKey(param=name, slice=s.slice_id), group=wgroup,
                                           min_version=step))
            if self.shm[address]:
                with self._segment(address, name, s, "pull") as segment:
                    self._get_into(address, request, flat_part(out, s), segment)
            else:
                self._stream_into(address, request, flat_part(out, s))
        self._each_server(wgroup, name, out, fetch)

    def clip(self, wgroup: int, step: int, clip_norm: float) -> float:
        """The square sums of every server of the group's server group (all asked at once: each answers
        once every process of the group has asked), then the one scale sent to each (ParamClient.clip)."""
        sgroup = server_group_of(wgroup, *self.ngroups)
        servers = sorted((sid, address) for (g, sid), address in self.book.items() if g == sgroup)
        sums = [0.0] * len(servers)

        def ask(i: int, sid: int, address: str) -> None:
            reply = self._clip_call(address, "SquareSum", pb.ClipRequest(group=wgroup, server=sid, step=step))
            sums[i] = reply.header.square_sum  # type: ignore[attr-defined]

        concurrently([partial(ask, i, sid, a) for i, (sid, a) in enumerate(servers)], self.pool)
        scale = clip_factor(sum(sums), clip_norm)  # in server order: every process computes the same

        def apply(sid: int, address: str) -> None:
            self._clip_call(address, "ApplyClipped", pb.ClipRequest(group=wgroup, server=sid, step=step, scale=scale))

        concurrently([partial(apply, sid, a) for sid, a in servers], self.pool)
        return scale

    def _clip_call(self, address: str, method: str, request: pb.ClipRequest) -> Framed:
        try:
            return self.stubs[address].call(method, Framed(request), timeout=self.timeout)
        except grpc.RpcError as err:
            raise rpc_error(err, address, f"clipping step {request.step}") from None

    def put(self, name: str, values: np.ndarray, step: int = 0) -> None:
        """Set `name`'s values in every server group, as they stand before `step` (e.g. from a checkpoint)."""
        for sgroup in range(max(1, self.ngroups[1])):
            def send(address: str, s: Slice, sgroup: int = sgroup) -> None:
                header = pb.SliceTensor(key=pb.SliceKey(param=name, slice=s.slice_id), group=sgroup, step=step)
                self._call(address, "Put", Framed(header, flat_part(values, s)), shm=self.shm[address])
            self._each_server(sgroup, name, values, send, sgroup)

    def history(self, sgroup: int, name: str, slot: str) -> tuple[np.ndarray, int] | None:
        """Server group `sgroup`'s updater history `slot` of param `name`, its slices joined (flat), and
        the updates applied to its first slice; None before the first update."""
        slices = self.slices.get(name, [])
        whole = np.empty(sum(s.size for s in slices), np.float32)
        counts: list[int] = []
        for s in slices:
            address = self.book[sgroup, s.server]
            request = Framed(pb.GetRequest(key=pb.SliceKey(param=name, slice=s.slice_id), group=sgroup, slot=slot))
            try:
                header, part = gather(self.stubs[address].stream("History", request, timeout=self.timeout))
            except grpc.RpcError as err:
                raise rpc_error(err, address, request.header.key) from None  # type: ignore[attr-defined]
            if part.size == 0:
                return None
            flat_part(whole, s)[:] = part.reshape(-1)
            counts.append(header.version if header is not None else 0)  # type: ignore[attr-defined]
        return whole, counts[0] if counts else 0

    def put_history(self, name: str, slot: str, values: np.ndarray, count: int, group: int | None = None) -> None:
        """Set `name`'s history `slot` (a whole param's, flat) and update count in server group `group`
        (None: in every server group)."""
        flat = np.ascontiguousarray(values, np.float32).reshape(-1)
        for sgroup in range(max(1, self.ngroups[1])) if group is None else (group,):
            def send(address: str, s: Slice, sgroup: int = sgroup) -> None:
                header = pb.SliceTensor(key=pb.SliceKey(param=name, slice=s.slice_id), group=sgroup, slot=slot,
                                        version=count)
                self._call(address, "PutHistory", Framed(header, flat_part(flat, s)), shm=self.shm[address])
            self._each_server(sgroup, name, flat, send, sgroup)

    def close(self) -> None:
        """Close the channels and the segments (the servers are not told: they serve other clients)."""
        for channel in self.channels.values():
            channel.close()
        self.pool.shutdown(wait=False)
        with self.lock:
            for free in self.segments.values():
                for segment in free:
                    segment.close()
            self.segments.clear()

    @contextmanager
    def _segment(self, address: str, name: str, s: Slice, direction: str) -> Iterator[Segment | None]:
        """A segment of one slice in one direction to one server for one call, back to the run's free
        list after it (None: the server is not on this host)."""
        if not self.shm[address]:
            yield None
            return
        key = (address, name, s.slice_id, direction)
        with self.lock:
            free = self.segments.setdefault(key, [])
            segment = free.pop() if free else Segment(s.size * 4)
        try:
            yield segment
        finally:
            with self.lock:
                free.append(segment)

    def _each_server(self, wgroup: int, name: str, array: np.ndarray, do: Callable[[str, Slice], None],
                     sgroup: int | None = None) -> None:
        """do(address, slice) for each slice of `name` on worker group `wgroup`'s server group (or
        `sgroup`); the slices of one server in turn, the servers at once (a thread each beyond the
        caller's own: a pull that waits must not hold up a push)."""
        sgroup = server_group_of(wgroup, *self.ngroups) if sgroup is None else sgroup
        by_address: dict[str, list[Slice]] = {}
        for s in self._slices(name, array):
            address = self.book.get((sgroup, s.server))
            if address is None:
                raise SingaError(f"param {name!r} slice {s.slice_id}: no address for server {s.server} "
                                 f"of server group {sgroup}")
            by_address.setdefault(address, []).append(s)
        concurrently([partial(_each, do, a, ss) for a, ss in by_address.items()], self.pool)

    def _slices(self, name: str, array: np.ndarray) -> list[Slice]:
        slices = self.slices.get(name)
        if slices is None:
            raise SingaError(f"param {name!r}: not an owner param of the plan")
        size = sum(s.size for s in slices)
        if array.dtype != np.float32 or array.size != size or not array.flags.c_contiguous:
            raise SingaError(f"param {name!r}: an array of {array.size} {array.dtype} "
                             f"({'' if array.flags.c_contiguous else 'not '}contiguous), "
                             f"the param has {size} float32")
        return slices

    def _call(self, address: str, method: str, request: Framed, **kw: Any) -> Framed:
        try:
            return self.stubs[address].call(method, request, timeout=self.timeout, **kw)
        except grpc.RpcError as err:
            raise rpc_error(err, address, request.header.key) from None  # type: ignore[attr-defined]

    def _get_into(self, address: str, request: Framed, target: np.ndarray, segment: Segment | None) -> None:
        """A slice's values written by its server into this client's segment, then copied to `target`."""
        reply = self._call(address, "Get", request, into=segment)
        values = _tensor(reply, "Get reply")
        if values.size != target.size:
            raise SingaError(f"param {request.header.key.param!r}: {values.size} values came back for a "  # type: ignore[attr-defined]
                             f"slice of {target.size}")
        np.copyto(target.reshape(-1), values.reshape(-1))

    def _stream_into(self, address: str, request: Framed, target: np.ndarray) -> None:
        """A streamed reply's chunks written straight into `target` (no whole-slice buffer)."""
        flat = target.view(np.uint8)
        try:
            for part in self.stubs[address].stream("GetStream", request, timeout=self.timeout):
                chunk, offset = _tensor(part, "GetStream chunk"), part.header.offset  # type: ignore[attr-defined]
                if offset + chunk.size > flat.size:
                    raise SingaError(f"param {request.header.key.param!r}: a chunk at byte {offset} "  # type: ignore[attr-defined]
                                     f"lies outside its {flat.size}-byte slice")
                flat[offset:offset + chunk.size] = chunk
        except grpc.RpcError as err:
            raise rpc_error(err, address, request.header.key) from None  # type: ignore[attr-defined]


def _each(do: Callable[[str, Slice], None], address: str, slices: list[Slice]) -> None:
    for s in slices:
        do(address, s)


def concurrently(tasks: Sequence[Callable[[], object]], pool: ThreadPoolExecutor) -> None:
    """Run the tasks at once (the first on this thread, the others on `pool`'s threads, which live as
    long as the client); once all are done, the error of the first task that failed, in the tasks'
    order (not whichever failed first), is raised."""
    futures = [pool.submit(task) for task in tasks[1:]]
    errors: list[BaseException | None] = []
    try:
        if tasks:
            tasks[0]()
        errors.append(None)
    except BaseException as err:  # noqa: BLE001 (re-raised below, after the others are done)
        errors.append(err)
    errors.extend(f.exception() for f in futures)
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
