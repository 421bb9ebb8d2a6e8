"""``brickwork train --nproc N``: the same training, data-parallel over N processes.

The command re-launches itself under ``mpiexec -n N`` (``brickwork.distributed.run.launch``).
Each rank trains the same model wrapped in DistributedDataParallel on its shard of every epoch
(a DistributedSampler), with ``--batch-size / N`` examples per step, so the global batch, the
number of steps and the averaged gradient are those of one process. Rank 0 alone prints and
writes (checkpoints through ``Checkpointer``, which gathers every rank's state, metrics.csv,
curves.png). A process started by an MPI launcher already (``mpiexec -n N brickwork train
--nproc N``) runs as one of the ranks instead of launching.
"""
from __future__ import annotations

import os
import sys
import time

from .cli import UsageError

# The launchers' world-size variables (MPICH's hydra, Open MPI): set in a process that an MPI
# launcher started, which then is a rank rather than the process that launches them.
_LAUNCHER_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


def run(args) -> int:
    """``brickwork train --nproc N``: check and launch the ranks, or, inside the launched job,
    be one of them."""
    from . import _cli_train as train

    if train._model_of(args) == "charlm":
        raise UsageError("--nproc trains the Fashion-MNIST models (mlp, lenet) data-parallel; "
                         "train charlm in one process")
    data_root = train._data_root(args.data)
    if launched_size() is None:  # the command the user ran: check everything, then launch
        out = args.out or os.path.join("runs", f"{args.model or train._RUN_OPTIONS['model']}-"
                                               f"{time.strftime('%Y%m%d-%H%M%S')}")
        created = train._prepare_out(out, args.resume)
        status = 1
        try:
            from .serialization.checkpoint import Checkpointer

            ckpt = Checkpointer(out, keep_last=3, keep_best=True, mode="max",
                                prefix=train._CKPT_PREFIX)
            check_batch(train._resolve_options(args, ckpt)["batch_size"], args.nproc)
            rank_device(args.device, 0, args.nproc)
            status = launch(args, out, args.nproc)
            return status
        finally:
            if created and status != 0:
                train._remove_if_empty(out)  # a run that wrote nothing leaves nothing behind
    if args.out is None:
        raise UsageError("--nproc inside an MPI job needs --out: every rank must write to "
                         "the same folder")
    ranks = Ranks(args.nproc)
    status = 1
    try:
        ranks.rank0_first(lambda: train._prepare_out(args.out, args.resume))
        status = train._train(args, args.out, data_root, ranks)
    except BaseException as e:  # noqa: BLE001  (reported, then the process leaves)
        ranks.fail(e, getattr(args, "debug", False))
    if status != 0:
        exit_now(status, ranks.rank)
    ranks.close()
    return status


def launched_size() -> int | None:
    """The world size of the MPI job this process belongs to, or None outside one."""
    for name in _LAUNCHER_SIZE_VARS:
        text = os.environ.get(name)
        if text is not None:
            try:
                return int(text)
            except ValueError:
                raise RuntimeError(f"the MPI launcher set {name}={text!r}, which is not an "
                                   "integer") from None
    return None


def check_batch(batch_size: int, nproc: int) -> int:
    """The per-rank batch size; a UsageError when ``nproc`` does not divide ``batch_size``."""
    if batch_size % nproc:
        raise UsageError(f"--batch-size {batch_size} does not split evenly over --nproc {nproc}: "
                         f"each process takes batch-size / nproc examples a step; use a "
                         f"multiple of {nproc}")
    return batch_size // nproc


def rank_device(spec: str, rank: int, nproc: int) -> str:
    """The device rank ``rank`` trains on for ``--device spec``: one GPU per rank, or the CPU."""
    from . import cuda

    if spec == "cpu" or spec.startswith("cpu:"):
        return "cpu"
    count = cuda.device_count()
    if spec == "auto":
        return f"cuda:{rank}" if cuda.is_available() and count >= nproc else "cpu"
    if spec != "cuda":
        raise UsageError(f"--device {spec} names one GPU, but --nproc {nproc} gives each "
                         "process its own: use --device cuda (process r on cuda:r), auto or "
                         "cpu")
    if count < nproc:
        raise UsageError(f"--device cuda with --nproc {nproc} needs a GPU per process, and "
                         f"this machine has {count}; use --device cpu or a smaller --nproc")
    return f"cuda:{rank}"


def launch(args, out: str, nproc: int) -> int:
    """Run ``brickwork train`` with the same options on ``nproc`` ranks; their exit status."""
    from .distributed.run import launch as mpi_launch

    argv = ["--debug"] if getattr(args, "debug", False) else []
    argv += ["train", "--nproc", str(nproc), "--epochs", str(args.epochs), "--device",
             args.device, "--data", args.data, "--out", out]
    for flag, value in (("--model", args.model), ("--batch-size", args.batch_size),
                        ("--lr", None if args.lr is None else repr(args.lr)),
                        ("--optimizer", args.optimizer), ("--seed", args.seed)):
        if value is not None:
            argv += [flag, str(value)]
    if args.resume:
        argv.append("--resume")
    from ._cli_train import TTY_VAR

    # Rank 0 shows the progress bar when this command's stderr is a terminal.
    os.environ[TTY_VAR] = "1" if sys.stderr.isatty() else "0"
    # Ranks share the cores: one BLAS/OpenMP thread each unless the user chose otherwise.
    threads = str(max(1, (os.cpu_count() or 1) // nproc))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, threads)
    return mpi_launch(nproc, "brickwork", argv, module=True)


class Ranks:
    """This process's place in the data-parallel run, and the few collectives training needs."""

    def __init__(self, nproc: int) -> None:
        import brickwork.distributed as dist

        size = launched_size()
        if size != nproc:
            raise UsageError(f"--nproc {nproc}, but the MPI launcher started {size} "
                             f"process(es); run 'brickwork train --nproc {nproc}' (it launches "
                             "them), or mpiexec with the same count")
        self.dist = dist
        dist.init_process_group()
        self.rank, self.size = dist.get_rank(), dist.get_world_size()

    def rank0_first(self, fn) -> None:
        """Run ``fn`` on rank 0 while the others wait; its error is raised on every rank."""
        box: list = [None]
        error = None
        if self.rank == 0:
            try:
                fn()
            except Exception as e:  # noqa: BLE001  (re-raised below, after the others know)
                error = e
                box[0] = (isinstance(e, UsageError), str(e))
        self.dist.broadcast_object_list(box, src=0)
        if error is not None:
            raise error
        if box[0] is not None:
            usage, message = box[0]
            raise (UsageError if usage else RuntimeError)(message)

    def wrap(self, net, dev):
        from .nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=None if dev.type == "cpu"
                                       else [dev.index])

    def sampler(self, dataset, seed: int):
        from .utils.data import DistributedSampler

        return DistributedSampler(dataset, num_replicas=self.size, rank=self.rank,
                                  shuffle=True, seed=seed)

    def sum(self, values: list[float]) -> list[float]:
        """``values`` summed over the ranks (float64, so counts stay exact)."""
        import brickwork as bw

        t = bw.tensor(values, dtype=bw.float64)
        self.dist.all_reduce(t)
        return t.tolist()

    def close(self) -> None:
        self.dist.destroy_process_group()

    def fail(self, e: BaseException, debug: bool) -> None:
        """Report ``e`` as the command does, then leave at once: the launcher then stops the
        ranks still waiting in a collective for this one (MPI's normal exit would wait too)."""
        import traceback

        from .cli import _describe

        if debug:
            traceback.print_exception(type(e), e, e.__traceback__)
        print(f"brickwork train: error (rank {self.rank}): {_describe(e)}", file=sys.stderr)
        code = 130 if isinstance(e, KeyboardInterrupt) else 2 if isinstance(e, UsageError) else 1
        exit_now(code, self.rank)


def exit_now(code: int, rank: int) -> None:
    """Leave with ``code`` without MPI's finalize, which would wait for ranks that are stuck."""
    sys.stdout.flush()
    sys.stderr.flush()
    if rank != 0:
        # The ranks usually fail together (the same error): give rank 0, whose message
        # the user reads, a moment to print it before the launcher stops the job.
        time.sleep(1.0)
    os._exit(code)
