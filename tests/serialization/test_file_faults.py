"""Saving and loading under file-system faults and odd paths.

Symlinks are written through; folders, FIFOs, sockets and devices are refused by name without
being touched or waited on; OSErrors name the file being saved, not its temporary file; killed
saves' temporary files are swept by the next save (never a live writer's); and the I/O threads
survive fork(), DataLoader workers and atexit handlers.
"""
from __future__ import annotations

import errno
import io
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from shutil import SpecialFileError

import numpy as np
import pytest

import brickwork
from brickwork.serialization import CorruptFileError, atomic, atomic_write

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs POSIX files and signals")
needs_flock = pytest.mark.skipif(atomic.fcntl is None, reason="needs fcntl.flock")


def _obj(value: float, n: int = 1000) -> dict:
    # Two storages, so saving and loading use the I/O threads (one crc32 job per storage).
    return {"a": brickwork.tensor(np.full(n, value, np.float32)),
            "b": brickwork.tensor(np.arange(n, dtype=np.int64))}


def _value(path) -> float:
    return float(brickwork.load(path)["a"].numpy()[0])


def _temps(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def _run(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; kill its whole process group if it hangs."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the subprocess hung for {timeout} s")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# -- symlinks are written through -------------------------------------------------------------
@pytest.mark.parametrize("name", ["link.bw", "link.pt"])
def test_save_writes_through_symlink(tmp_path, name):
    target = tmp_path / ("target" + os.path.splitext(name)[1])
    brickwork.save(_obj(1.0), target)
    link = tmp_path / name
    link.symlink_to(target.name)
    brickwork.save(_obj(2.0), link)
    assert link.is_symlink() and os.readlink(link) == target.name
    assert _value(target) == 2.0 and _value(link) == 2.0
    assert _temps(tmp_path) == []


def test_save_writes_through_chain_of_links_across_folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    target = tmp_path / "b" / "model.bw"
    brickwork.save(_obj(1.0), target)
    (tmp_path / "b" / "hop").symlink_to("model.bw")
    (tmp_path / "a" / "first").symlink_to("../b/hop")
    brickwork.save(_obj(3.0), tmp_path / "a" / "first")
    assert (tmp_path / "a" / "first").is_symlink() and (tmp_path / "b" / "hop").is_symlink()
    assert _value(target) == 3.0
    # The temporary file went beside the target (same file system), and is gone.
    assert _temps(tmp_path / "a") == [] and _temps(tmp_path / "b") == []


def test_save_through_dangling_link_creates_its_target(tmp_path):
    link = tmp_path / "link.bw"
    link.symlink_to("not-yet.bw")
    brickwork.save(_obj(4.0), link)
    assert link.is_symlink()
    assert (tmp_path / "not-yet.bw").is_file() and _value(tmp_path / "not-yet.bw") == 4.0


def test_symlink_layout_matches_torch(tmp_path):
    torch = pytest.importorskip("torch")
    layouts = []
    for lib, save in (("torch", lambda p: torch.save({"a": torch.ones(3)}, p)),
                      ("brickwork", lambda p: brickwork.save({"a": brickwork.ones(3)}, p))):
        root = tmp_path / lib
        root.mkdir()
        save(root / "t.pt")
        (root / "l1").symlink_to("t.pt")
        (root / "l2").symlink_to("l1")
        (root / "dangling").symlink_to("made.pt")
        for p in ("l2", "dangling"):
            save(root / p)
        layouts.append(sorted((p.name, p.is_symlink(), p.is_file()) for p in root.iterdir()))
    assert layouts[0] == layouts[1]


def test_save_through_link_keeps_target_permissions(tmp_path):
    target = tmp_path / "t.bw"
    brickwork.save(_obj(1.0), target)
    os.chmod(target, 0o640)
    (tmp_path / "l").symlink_to("t.bw")
    brickwork.save(_obj(2.0), tmp_path / "l")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        brickwork.save(_obj(1.0), tmp_path / "new.bw")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.bw").st_mode) == 0o640


def test_save_to_cycle_of_links_raises_eloop_naming_path(tmp_path):
    (tmp_path / "x").symlink_to("y")
    (tmp_path / "y").symlink_to("x")
    with pytest.raises(OSError) as info:
        brickwork.save(_obj(1.0), tmp_path / "x")
    assert info.value.errno == errno.ELOOP and info.value.filename == str(tmp_path / "x")
    assert (tmp_path / "x").is_symlink() and _temps(tmp_path) == []


# -- folders and special files ----------------------------------------------------------------
def _char_device(tmp_path) -> str:
    path = tmp_path / "chardev"
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # like /dev/null
        return str(path)
    except (PermissionError, AttributeError, OSError):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            pytest.skip("cannot make a device node here, and root could damage /dev/null")
        return "/dev/null"  # not writable by this user: a wrong replace would fail anyway


def _special(kind: str, tmp_path, monkeypatch):
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")
        return str(tmp_path / "fifo"), stat.S_ISFIFO, "FIFO"
    if kind == "socket":
        monkeypatch.chdir(tmp_path)  # AF_UNIX paths are limited to ~100 bytes
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("sock")  # the node stays after the socket closes
        return "sock", stat.S_ISSOCK, "socket"
    return _char_device(tmp_path), stat.S_ISCHR, "character device"


@posix_only
@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "socket", "chardev"])
@pytest.mark.parametrize("via_link", [False, True])
def test_save_refuses_special_file_and_leaves_it(tmp_path, monkeypatch, kind, via_link):
    path, is_kind, words = _special(kind, tmp_path, monkeypatch)
    if via_link:
        os.symlink(os.path.abspath(path), tmp_path / "link")
        path = str(tmp_path / "link")
    with pytest.raises(SpecialFileError) as info:
        brickwork.save(_obj(1.0), path)
    assert isinstance(info.value, OSError)
    assert repr(path) in str(info.value) and words in str(info.value)
    assert is_kind(os.stat(path).st_mode)  # still the same node
    assert _temps(tmp_path) == []


def test_save_to_directory_raises_isadirectoryerror_naming_it(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "inside").write_bytes(b"x")
    with pytest.raises(IsADirectoryError) as info:
        brickwork.save(_obj(1.0), folder)
    assert info.value.filename == str(folder) and str(folder) in str(info.value)
    assert os.listdir(folder) == ["inside"] and _temps(tmp_path) == []


def test_load_directory_raises_isadirectoryerror_like_torch(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        brickwork.load(str(tmp_path))
    assert info.value.errno == errno.EISDIR and info.value.filename == str(tmp_path)
    torch = pytest.importorskip("torch")
    with pytest.raises(IsADirectoryError) as ref:
        torch.load(str(tmp_path))
    assert str(info.value) == str(ref.value)


@posix_only
@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_load_fifo_or_socket_refuses_without_blocking(tmp_path, monkeypatch, kind):
    path, is_kind, words = _special(kind, tmp_path, monkeypatch)
    start = time.monotonic()
    with pytest.raises(SpecialFileError) as info:
        brickwork.load(path)
    assert time.monotonic() - start < 5
    assert repr(path) in str(info.value) and words in str(info.value)
    assert is_kind(os.stat(path).st_mode)


@posix_only
def test_load_fifo_as_file_object_reads_the_stream(tmp_path):
    # The message says to pass an open file object for streams; that works.
    src = tmp_path / "x.bw"
    brickwork.save(_obj(5.0), src)
    os.mkfifo(tmp_path / "fifo")
    proc = subprocess.Popen(["sh", "-c", f"cat '{src}' > '{tmp_path / 'fifo'}'"])
    try:
        with open(tmp_path / "fifo", "rb") as f:
            assert float(brickwork.load(f)["a"].numpy()[0]) == 5.0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


@posix_only
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_load_char_device_is_corrupt_file_naming_it(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(CorruptFileError) as info:
        brickwork.load(device)
    assert repr(device) in str(info.value) and "character device" in str(info.value)


# -- OSErrors name the target -----------------------------------------------------------------
class _FullDisk(io.RawIOBase):
    """A raw file over ``fd`` that fails with ENOSPC once ``room`` bytes are written."""

    def __init__(self, fd: int, room: int) -> None:
        self.fd, self.room = fd, room

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return os.lseek(self.fd, pos, whence)

    def tell(self) -> int:
        return os.lseek(self.fd, 0, os.SEEK_CUR)

    def write(self, b) -> int:
        n = memoryview(b).nbytes
        if n > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= n
        return os.write(self.fd, b)


@pytest.mark.parametrize("fmt", ["brickwork", "torch"])
@pytest.mark.parametrize("room", [0, 3000, 10**6])
def test_disk_full_names_target_and_keeps_old_file(tmp_path, monkeypatch, fmt, room):
    path = tmp_path / "model.bin"
    brickwork.save(_obj(1.0, 100_000), path, format=fmt)
    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        if mode == "wb":
            return io.BufferedWriter(_FullDisk(fd, room))
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    with pytest.raises(OSError) as info:
        brickwork.save(_obj(2.0, 100_000), path, format=fmt)
    monkeypatch.undo()
    e = info.value
    assert type(e) is OSError and e.errno == errno.ENOSPC
    assert e.filename == str(path) and str(path) in str(e)
    assert _value(path) == 1.0 and _temps(tmp_path) == []


def test_read_only_folder_names_target(tmp_path, monkeypatch):
    # Root ignores folder permissions, so the denial is simulated where the OS would raise it:
    # creating the temporary file.
    real_open = os.open

    def deny(p, flags, *args, **kwargs):
        if ".tmp-" in os.fspath(p) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), p)
        return real_open(p, flags, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "open", deny)
    with pytest.raises(PermissionError) as info:
        brickwork.save(_obj(1.0), tmp_path / "model.bw")
    monkeypatch.undo()
    assert info.value.filename == str(tmp_path / "model.bw") and ".tmp-" not in str(info.value)


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="root ignores modes")
def test_real_read_only_folder_names_target(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    brickwork.save(_obj(1.0), folder / "model.bw")
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(PermissionError) as info:
            brickwork.save(_obj(2.0), folder / "model.bw")
    finally:
        os.chmod(folder, 0o755)
    assert info.value.filename == str(folder / "model.bw") and _value(folder / "model.bw") == 1.0


def test_failed_rename_names_target(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError) as info:
        brickwork.save(_obj(1.0), tmp_path / "m.bw")
    monkeypatch.undo()
    e = info.value
    assert e.errno == errno.EXDEV and e.filename == str(tmp_path / "m.bw") and e.filename2 is None
    assert os.listdir(tmp_path) == []


def test_body_error_about_another_file_keeps_its_name(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        with atomic_write(tmp_path / "out") as f:
            f.write(b"x")
            open(tmp_path / "missing", "rb")
    assert info.value.filename == str(tmp_path / "missing")
    assert os.listdir(tmp_path) == []


# -- stale temporary files of killed saves ----------------------------------------------------
HOLDER = """
    import sys
    from brickwork.serialization import atomic_write
    with atomic_write(sys.argv[1]) as f:
        f.write(b"new contents " * 100_000)
        f.flush()
        print("ready", flush=True)
        sys.stdin.readline()  # wait (forever, or until told to finish)
"""


def _start_holder(path):
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@posix_only
@needs_flock
@pytest.mark.timeout(60)
def test_killed_writers_temp_file_is_removed_by_next_save(tmp_path):
    proc = _start_holder(tmp_path / "big.bw")
    try:
        temps = _temps(tmp_path)
        assert len(temps) == 1 and temps[0].startswith(f".big.bw.tmp-{proc.pid}-")
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdin.close()
        proc.stdout.close()
    assert len(_temps(tmp_path)) == 1  # the kill left it behind
    brickwork.save(_obj(1.0), tmp_path / "other.bw")
    assert _temps(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["other.bw"]


LOOP_WRITER = """
    import sys
    import numpy as np
    import brickwork
    x = {"v": brickwork.tensor(np.ones(4_000_000, np.float32))}
    while True:
        brickwork.save(x, sys.argv[1])
"""


@posix_only
@needs_flock
@pytest.mark.timeout(60)
def test_sigkill_mid_save_leaves_temp_that_next_save_removes(tmp_path):
    path = tmp_path / "m.bw"
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(LOOP_WRITER), str(path)])
        deadline = time.monotonic() + 30
        while not _temps(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.kill()
        proc.wait(timeout=30)
        if _temps(tmp_path):
            break
    left = _temps(tmp_path)
    assert left, "no save was caught mid-write in 5 tries"
    brickwork.save(_obj(1.0), tmp_path / "next.bw")
    assert _temps(tmp_path) == []
    if path.exists():  # the killed saves never tore the target
        assert brickwork.load(path)["v"].numpy().min() == 1.0


@posix_only
@needs_flock
@pytest.mark.timeout(60)
def test_live_writers_temp_file_survives_a_save_beside_it(tmp_path):
    proc = _start_holder(tmp_path / "theirs.bw")
    try:
        before = _temps(tmp_path)
        brickwork.save(_obj(1.0), tmp_path / "ours.bw")
        assert _temps(tmp_path) == before and len(before) == 1
        proc.stdin.write("finish\n")
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stdin.close()
        proc.stdout.close()
    assert (tmp_path / "theirs.bw").read_bytes() == b"new contents " * 100_000
    assert _temps(tmp_path) == []


@needs_flock
def test_writer_in_this_process_survives_a_save_beside_it(tmp_path):
    with atomic_write(tmp_path / "a") as f:
        f.write(b"a" * 1000)
        temps = _temps(tmp_path)
        brickwork.save(_obj(1.0), tmp_path / "b.bw")
        assert _temps(tmp_path) == temps and len(temps) == 1
    assert (tmp_path / "a").read_bytes() == b"a" * 1000 and _temps(tmp_path) == []


@needs_flock
def test_sweep_between_create_and_lock_makes_writer_pick_new_name(tmp_path, monkeypatch):
    # The one window where a live writer's file is unlocked: just created, not yet locked.
    # A sweep there removes it; the writer must notice and start over under a new name.
    real_lock = atomic._try_lock
    swept = []

    def lock_late(fd):
        if not swept:
            swept.append(None)  # the sweep's own locking goes straight through
            swept[0] = atomic.remove_stale_temps(str(tmp_path))
        return real_lock(fd)

    monkeypatch.setattr(atomic, "_try_lock", lock_late)
    brickwork.save(_obj(6.0), tmp_path / "m.bw")
    assert len(swept[0]) == 1  # the sweep did remove the writer's first file
    assert _value(tmp_path / "m.bw") == 6.0 and _temps(tmp_path) == []


@posix_only
@needs_flock
@pytest.mark.timeout(30)
def test_sweep_touches_only_unlocked_regular_files_of_brickwork_pattern(tmp_path):
    keep = {
        ".m.tmp-123-zzzzzzzz": "file",  # not hex
        "m.tmp-123-0123abcd": "file",  # no leading dot
        ".m.tmp-123-0123abcd.bak": "file",  # more after the suffix
        ".m.tmp-x-0123abcd": "file",  # no pid
        ".d.tmp-123-0123abcd": "dir",
        ".f.tmp-123-0123abcd": "fifo",
        ".l.tmp-123-0123abcd": "link",
    }
    for name, kind in keep.items():
        p = tmp_path / name
        if kind == "file":
            p.write_bytes(b"user data")
        elif kind == "dir":
            p.mkdir()
        elif kind == "fifo":
            os.mkfifo(p)
        else:
            p.symlink_to("m.tmp-123-0123abcd")
    stale = tmp_path / ".m.tmp-123-0123abcd"
    stale.write_bytes(b"half a save")
    brickwork.save(_obj(1.0), tmp_path / "m")
    assert sorted(os.listdir(tmp_path)) == sorted([*keep, "m"])


@posix_only
def test_without_flock_the_pid_decides(tmp_path, monkeypatch):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, timeout=30, check=True)
    dead = int(done.stdout)
    mine = os.getpid()
    (tmp_path / f".a.tmp-{dead}-0123abcd").write_bytes(b"x")
    (tmp_path / f".a.tmp-{mine}-0123abcd").write_bytes(b"x")
    monkeypatch.setattr(atomic, "_try_lock", lambda fd: None)  # a file system without flock
    removed = atomic.remove_stale_temps(str(tmp_path))
    assert [os.path.basename(p) for p in removed] == [f".a.tmp-{dead}-0123abcd"]
    assert os.listdir(tmp_path) == [f".a.tmp-{mine}-0123abcd"]


# -- mmap loads skip data checksums (documented) ----------------------------------------------
def test_mmap_load_skips_data_checksums(tmp_path):
    path = tmp_path / "m.bw"
    brickwork.save({"a": brickwork.tensor(np.zeros(64, np.float32))}, path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x40  # the last data byte
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="checksum mismatch"):
        brickwork.load(path)
    assert brickwork.load(path, mmap=True)["a"].numpy()[-1] != 0


# -- the I/O threads across fork, DataLoader workers and atexit -------------------------------
@posix_only
@pytest.mark.timeout(60)
def test_forked_child_can_save_and_load(tmp_path):
    code = """
        import os, sys
        import numpy as np
        import brickwork
        folder = sys.argv[1]
        obj = {k: brickwork.tensor(np.full(1000, i, np.float32)) for i, k in enumerate("abcd")}
        brickwork.save(obj, os.path.join(folder, "parent.bw"))  # starts the I/O threads
        brickwork.load(os.path.join(folder, "parent.bw"))
        pid = os.fork()
        if pid == 0:
            brickwork.save(obj, os.path.join(folder, "child.bw"))
            ok = float(brickwork.load(os.path.join(folder, "child.bw"))["c"].numpy()[0]) == 2.0
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """
    done = _run(code, str(tmp_path), timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", done.stderr


@posix_only
@pytest.mark.timeout(60)
def test_dataloader_workers_load_files(tmp_path):
    code = """
        import sys, time
        import numpy as np
        import brickwork
        from brickwork.utils.data import DataLoader, Dataset
        path = sys.argv[1]
        brickwork.save({"x": brickwork.tensor(np.arange(64, dtype=np.float32)),
                        "y": brickwork.tensor(np.zeros(3))}, path)
        brickwork.load(path)

        class Files(Dataset):
            def __len__(self):
                return 16

            def __getitem__(self, i):
                return brickwork.load(path)["x"][i]

        start = time.monotonic()
        got = [b.tolist() for b in DataLoader(Files(), batch_size=4, num_workers=2)]
        print(sorted(v for b in got for v in b) == list(range(16)), len(got),
              round(time.monotonic() - start, 2))
    """
    done = _run(code, str(tmp_path / "d.bw"), timeout=30)
    assert done.returncode == 0, done.stderr
    ok, batches, _seconds = done.stdout.split()
    assert ok == "True" and batches == "4", done.stdout + done.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("used_before", [False, True])
def test_save_from_atexit_handler(tmp_path, used_before):
    code = """
        import atexit, sys
        import numpy as np
        import brickwork
        path = sys.argv[1]
        obj = {k: brickwork.tensor(np.full(1000, 7.0, np.float32)) for k in "abc"}
        if sys.argv[2] == "True":
            brickwork.save(obj, path + ".first")
            brickwork.load(path + ".first")
        atexit.register(lambda: brickwork.save(obj, path))
    """
    path = tmp_path / "last.bw"
    done = _run(code, str(path), str(used_before), timeout=30)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert path.exists() and float(brickwork.load(path)["c"].numpy()[0]) == 7.0


@pytest.mark.timeout(30)
def test_missing_folder_error_names_only_the_target(tmp_path):
    target = str(tmp_path / "missing" / "x.bw")
    with pytest.raises(FileNotFoundError) as info:
        brickwork.save(brickwork.ones(2), target)
    assert info.value.filename == target and info.value.filename2 is None
    assert str(info.value) == f"[Errno 2] No such file or directory: {target!r}"
