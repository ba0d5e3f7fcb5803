"""Training in several processes: torchrun starts them, torch.distributed joins them.

A run started by `torchrun --nproc-per-node N -m zoo train NAME ...` (or by
`zoo train NAME --nproc N`, which starts torchrun) finds torchrun's
environment (RANK, WORLD_SIZE, MASTER_ADDR, ...) and joins the process group:
gloo on CPUs, nccl on CUDA GPUs (each process takes `cuda:LOCAL_RANK`).

What each process does is data parallelism, the arithmetic of PyTorch's
DistributedDataParallel: every process holds the whole model (rank 0's
weights, broadcast at the start), trains on its own share of every global
batch, and after each backward pass the gradients are averaged over all
processes (one all-reduce per optimizer update), so every process applies
the same update and the weights stay identical. The averaging happens in
`Step.optimize`, between a task's backward pass and its optimizer step, so
that it serves every task as written: a GAN that calls its generator and
discriminator separately and freezes one while the other learns works
unchanged (DDP's wrapper only sees calls of the wrapped module itself).

Only rank 0 writes the run folder, prints and draws; metrics are averaged
over the processes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from zoo.errors import ConfigError, DeviceError, TrainingError

__all__ = ["Processes", "initialized", "join", "launched"]

# Environment variables torchrun sets for each process it starts.
_TORCHRUN = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# On CUDA, reading the agreed stop flag waits for the GPU: do it every this many steps.
_STOP_CHECK_CUDA = 25


@contextlib.contextmanager
def _contact() -> Iterator[None]:
    """Turn a collective's failure (a process died, a connection broke) into one line."""
    try:
        yield
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise TrainingError(
            f"lost contact with another training process ({first[:160]}): it stopped or was "
            "killed; what the run committed is intact: go on with zoo train --resume RUN"
        ) from exc


def _collective(method: Callable) -> Callable:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _contact():
            return method(*args, **kwargs)

    return run


def launched() -> bool:
    """True in a process that torchrun started for a run of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def initialized() -> bool:
    """True once this process has joined a process group."""
    return dist.is_available() and dist.is_initialized()


@dataclass
class Processes:
    """This process's place in a multi-process run, and the collectives the trainer uses."""

    rank: int
    world: int
    local_rank: int
    device: torch.device
    # Collectives of small CPU values (stop flag, JSON): gloo even when training uses nccl.
    control: Any = None
    _flag: torch.Tensor | None = field(default=None, repr=False)
    _agreed: torch.Tensor | None = field(default=None, repr=False)

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes the run folder and prints."""
        return self.rank == 0

    @property
    def stop_check_every(self) -> int:
        return _STOP_CHECK_CUDA if self.device.type == "cuda" else 1

    @_collective
    def barrier(self) -> None:
        """Wait until every process gets here."""
        dist.barrier(group=self.control)

    def leave(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()

    # -- the model ------------------------------------------------------------------

    @_collective
    def broadcast_model(self, model: nn.Module) -> None:
        """Give every process rank 0's parameters and buffers."""
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor.data, src=0)

    @_collective
    def broadcast_buffers(self, model: nn.Module) -> None:
        """Give every process rank 0's buffers (BatchNorm statistics follow each process's
        share of the data; rank 0's are the ones saved)."""
        with torch.no_grad():
            for buffer in model.buffers():
                dist.broadcast(buffer.data, src=0)

    @_collective
    def average_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """Average the gradients of `optimizer`'s parameters over all processes, in place.

        The gradients of one dtype and device travel as one flat tensor: one
        all-reduce per update instead of one per parameter. This process's
        stop request rides along in the first one, so that every process
        learns of a Ctrl-C on any of them without another collective.
        """
        grads = [
            p.grad
            for group in optimizer.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        buckets: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
        for grad in grads:
            if grad.is_sparse:
                raise ConfigError(
                    "sparse gradients cannot be averaged across processes; train in one process"
                )
            buckets.setdefault((grad.device, grad.dtype), []).append(grad)
        if not buckets:
            self._share_flag()
            return
        for number, ((_, dtype), group) in enumerate(buckets.items()):
            parts = [grad.reshape(-1) for grad in group]
            if number == 0:
                parts.append(self._flag_tensor().to(dtype))
            flat = torch.cat(parts)
            dist.all_reduce(flat)
            if number == 0:
                self._agreed = flat[-1:]
            flat.mul_(1.0 / self.world)
            offset = 0
            for grad in group:
                count = grad.numel()
                grad.copy_(flat[offset : offset + count].view(grad.shape))
                offset += count

    # -- stopping together ------------------------------------------------------------

    def _flag_tensor(self) -> torch.Tensor:
        if self._flag is None:
            self._flag = torch.zeros(1, device=self.device)
        return self._flag

    def request_stop(self) -> None:
        """This process was asked to stop (Ctrl-C, SIGTERM): tell the others at the next sync."""
        self._flag_tensor().fill_(1.0)

    @_collective
    def _share_flag(self) -> None:
        flag = self._flag_tensor().clone()
        dist.all_reduce(flag)
        self._agreed = flag

    def stop_agreed(self, step_index: int) -> bool:
        """Whether any process asked to stop, decided alike by every process at this step.

        Every process reads the flag summed by the step's last gradient
        average (or shares it now, if the step averaged none) at the same
        steps, so all of them stop after the same step. On CUDA, where the
        read waits for the GPU, that is every few steps.
        """
        if step_index % self.stop_check_every:
            self._agreed = None
            return False
        if self._agreed is None:
            self._share_flag()
        agreed = bool(self._agreed.item() > 0)  # type: ignore[union-attr]
        self._agreed = None
        return agreed

    # -- metrics and small values -------------------------------------------------------

    @_collective
    def average_(self, tensor: torch.Tensor) -> None:
        """Average `tensor` (contiguous) over all processes, in place."""
        dist.all_reduce(tensor)
        tensor.mul_(1.0 / self.world)

    @_collective
    def gather_json(self, value: Any) -> list[Any]:
        """Every process's JSON `value`, in rank order (on every process)."""
        data = torch.frombuffer(bytearray(json.dumps(value).encode()), dtype=torch.uint8)
        sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(self.world)]
        dist.all_gather(sizes, torch.tensor([len(data)]), group=self.control)
        longest = int(max(size.item() for size in sizes))
        padded = torch.zeros(longest, dtype=torch.uint8)
        padded[: len(data)] = data
        parts = [torch.zeros(longest, dtype=torch.uint8) for _ in range(self.world)]
        dist.all_gather(parts, padded, group=self.control)
        return [
            json.loads(bytes(part[: int(size.item())].tolist()).decode())
            for part, size in zip(parts, sizes, strict=True)
        ]


def join(device_spec: str) -> Processes | None:
    """Join the process group torchrun prepared; None when this is a one-process run."""
    if not launched():
        return None
    missing = [name for name in _TORCHRUN if name not in os.environ]
    if missing:
        raise ConfigError(
            f"WORLD_SIZE is {os.environ['WORLD_SIZE']} but {', '.join(missing)} "
            "is not set: start multi-process runs with torchrun or zoo train --nproc N"
        )
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    device = _process_device(device_spec, local_rank)
    _stop_with_launcher()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        options: dict[str, Any] = {"backend": backend}
        if device.type == "cuda":
            torch.cuda.set_device(device)
            options["device_id"] = device
        dist.init_process_group(**options)
    control = dist.new_group(backend="gloo") if device.type == "cuda" else None
    return Processes(rank, world, local_rank, device, control)


# Set by `zoo train --nproc`: the process id of the launcher whose torchrun started us.
LAUNCHER = "ZOO_LAUNCHER_PID"


def _stop_with_launcher() -> None:
    """Under `zoo train --nproc`, send this process one SIGTERM if the launcher dies.

    torchrun starts each process in a session of its own, so nothing else
    would stop it when the launcher is killed outright (kill -9): it would
    train on, orphaned. A daemon thread watches the parent process; when it is
    gone, the process stops at the end of its step with a resumable state, as
    after Ctrl-C.
    """
    launcher = os.environ.get(LAUNCHER)
    if not launcher:
        return
    import signal
    import threading
    import time

    def watch() -> None:
        while str(os.getppid()) == launcher:
            time.sleep(0.25)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="zoo-launcher-watch", daemon=True).start()


def _process_device(spec: str, local_rank: int) -> torch.device:
    """The device of this process: `cuda:LOCAL_RANK` on GPUs, else the CPU."""
    text = (spec or "auto").strip().lower()
    if text in ("auto", "cuda") and torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            error = DeviceError(
                f"process {local_rank} of this machine has no GPU: it has "
                f"{torch.cuda.device_count()}; start at most that many processes per machine"
            )
            error.every_process = True  # this process's own problem: it says so itself
            raise error
        return torch.device("cuda", local_rank)
    if text in ("auto", "cpu"):
        return torch.device("cpu")
    if text == "cuda":
        raise DeviceError(
            "device 'cuda' was asked for but CUDA is not available here; use --device cpu"
        )
    raise DeviceError(
        f"device '{spec}' does not suit a multi-process run: each process takes its own "
        "device; use --device cuda (cuda:LOCAL_RANK for each process) or --device cpu"
    )


def shard_order(count: int, order: torch.Tensor | None, shard: tuple[int, int]) -> torch.Tensor:
    """Process `rank`'s share of an epoch's sample order, of `world` processes.

    The order (or 0..count-1) is first padded by wrapping around to a
    multiple of `world`, as DistributedSampler does, so every process takes
    the same number of batches; process `rank` then takes every `world`-th
    sample from position `rank`. With a batch of B / world per process, the
    processes' k-th batches together are exactly the k-th batch of size B of
    a one-process run over the same order.
    """
    rank, world = shard
    if order is None:
        order = torch.arange(count)
    padded = -(-count // world) * world
    if padded > count:
        order = torch.cat([order, order[: padded - count]])
    return order[rank::world]


def split_batch(batch_size: int, world: int) -> int:
    """Each process's batch of a global `batch_size` (it must split evenly)."""
    if batch_size % world:
        low = batch_size - batch_size % world
        examples = f"{low} or {low + world}" if low else f"{world}"
        raise ConfigError(
            f"batch_size {batch_size} does not split over {world} processes: the batch size "
            f"is the global batch, shared evenly; use a multiple of {world} (e.g. {examples})"
        )
    return batch_size // world
