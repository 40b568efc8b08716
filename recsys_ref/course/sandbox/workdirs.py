"""The workers' working folders, on the worker side (runs in the fork server).

Under bubblewrap each worker gets a size-limited tmpfs of its own
(``isolation.worker_slots``); the fork server hands them out (``_Folders``) and,
once a worker has exited, empties its folder in a child process
(``_clean_in_child``) with ``remove_tree``, which needs no recursion and raises
nothing, however deep or hostile the tree a learner left.
"""

from __future__ import annotations

import os


class _Folders:  # pragma: no cover - runs in the fork server
    """The workers' working folders.  Under bubblewrap each worker gets a tmpfs of its own
    (``slots``, mounted by bubblewrap with a size limit): filling it fills no one else's.
    Without, a new folder below the work root.  After a worker exits its folder is emptied
    in a child (``_clean_in_child``); a slot is handed out again only once it is empty."""

    def __init__(self, workroot: str, slots: list[str]) -> None:
        self.workroot, self.slots, self.free = workroot, set(slots), list(slots)
        self.made = 0
        self.of_worker: dict[int, str] = {}
        self.of_cleaner: dict[int, str] = {}

    def take(self) -> str:
        if self.free:
            return self.free.pop(0)
        self.made += 1
        path = os.path.join(self.workroot, f"w{self.made}")
        os.mkdir(path, 0o700)
        return path

    def started(self, pid: int, path: str) -> None:
        self.of_worker[pid] = path

    def exited(self, pid: int) -> bool:
        """Note that child ``pid`` ended; True when it was a cleaner (not a worker)."""
        if pid in self.of_cleaner:
            self._release(self.of_cleaner.pop(pid))
            return True
        path = self.of_worker.pop(pid, None)
        if path is not None:
            cleaner = _clean_in_child(path)
            if cleaner < 0:
                self._release(path)
            else:
                self.of_cleaner[cleaner] = path
        return False

    def _release(self, path: str) -> None:
        try:
            empty = path in self.slots and not os.listdir(path)
        except OSError:
            empty = False
        if empty:  # a slot with anything left in it is never handed to another learner
            os.chmod(path, 0o700)
            self.free.append(path)


def _clean_in_child(folder: str) -> int:  # pragma: no cover - runs in the fork server
    """Remove ``folder`` in a child process (a deep tree takes seconds: the server keeps
    answering meanwhile); its pid, or -1 when it was removed here."""
    try:
        pid = os.fork()
    except OSError:
        remove_tree(folder)
        return -1
    if pid == 0:
        try:
            remove_tree(folder)
        finally:
            os._exit(0)
    return pid


def remove_tree(top: str) -> None:
    """Remove the folder ``top`` and everything below it, however deep, without recursion
    (a learner's 10,000-level tree, deeper than any path can name, must not crash the fork
    server): one directory descriptor walks down by name and back up by "..", never
    following a symbolic link.  Never raises: what cannot be removed is left."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        os.chmod(top, 0o700)
        fd = os.open(top, flags)
    except (OSError, ValueError):
        return
    names: list[str] = []  # from top down to the folder of ``fd``
    left: set[tuple[int, int]] = set()  # folders that could not be removed: not entered again
    try:
        for _ in range(10_000_000):
            child = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    try:
                        if not entry.is_dir(follow_symlinks=False):
                            os.unlink(entry.name, dir_fd=fd)
                            continue
                        st = entry.stat(follow_symlinks=False)
                        if (st.st_dev, st.st_ino) not in left:
                            child = entry.name
                            break
                    except OSError:
                        continue
            if child is not None:
                try:
                    os.chmod(child, 0o700, dir_fd=fd)  # made with mode 0: still removable
                    down = os.open(child, flags, dir_fd=fd)
                except OSError:
                    st = os.stat(child, dir_fd=fd, follow_symlinks=False)
                    left.add((st.st_dev, st.st_ino))
                    continue
                os.close(fd)
                fd = down
                names.append(child)
                continue
            if not names:
                break
            here = os.fstat(fd)
            up = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = up
            try:
                os.rmdir(names.pop(), dir_fd=fd)
            except OSError:
                left.add((here.st_dev, here.st_ino))
    except BaseException:  # noqa: BLE001, S110 - MemoryError or worse: leave the rest
        pass
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.rmdir(top)
    except OSError:
        pass
