"""The local worker pool of ``generate``: workers do not outlive their parent."""

import multiprocessing
import os

from nextham.generate import runner


def test_worker_watch_exits_when_the_parent_is_not_its_parent():
    spawn = multiprocessing.get_context("spawn")
    orphan = spawn.Process(target=runner._watch, args=(-1, 0.1))  # a parent it never had
    orphan.start()
    orphan.join(timeout=30)
    assert orphan.exitcode == 1
    child = spawn.Process(target=runner._watch, args=(os.getpid(), 0.1))  # its real parent
    child.start()
    child.join(timeout=1.0)
    try:
        assert child.is_alive()
    finally:
        child.terminate()
        child.join()
