"""SQLite's writers of several processes take turns (store.write_turn), they do not starve."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from store.write_turn import WriteTurn, turn_file, write_turn_for

ROOT = Path(__file__).resolve().parents[1]
OTHER = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from store.write_turn import WriteTurn
turn = WriteTurn(Path({path!r}))
print("waiting", flush=True)
with turn:
    print(f"got {{time.time()!r}}", flush=True)
    time.sleep({hold})
print(f"left {{time.time()!r}}", flush=True)
"""


def other_process(path: Path, hold: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", OTHER.format(root=str(ROOT), path=str(path), hold=hold)],
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "waiting"
    return process


def stamp(process: subprocess.Popen[str], word: str) -> float:
    assert process.stdout is not None
    said, when = process.stdout.readline().split()
    assert said == word
    return float(when)


def test_another_process_writes_only_after_the_turn_is_given_back(tmp_path):
    turn = WriteTurn(tmp_path / "db.sqlite-turn")
    with turn:
        other = other_process(tmp_path / "db.sqlite-turn", hold=0.0)
        time.sleep(0.5)  # it is waiting now, unless the turn does not hold it back
        released = time.time()
    assert stamp(other, "got") >= released
    other.wait(timeout=10)


def test_a_writer_writing_again_queues_behind_the_process_already_waiting(tmp_path):
    """Without the door, the writer that just let go takes the lock again before the waiting
    process wakes up, and a busy router starves the callbacks' inserts."""
    path = tmp_path / "db.sqlite-turn"
    turn = WriteTurn(path)
    with turn:
        other = other_process(path, hold=0.3)
        time.sleep(0.5)  # the other process waits at the writer lock
    with turn:  # straight back: it must wait for the other process's whole turn
        again = time.time()
    got, left = stamp(other, "got"), stamp(other, "left")
    assert got < again and left <= again + 0.05
    other.wait(timeout=10)


def test_the_threads_of_one_process_take_turns_too(tmp_path):
    turn = WriteTurn(tmp_path / "db.sqlite-turn")
    with turn:
        assert turn.locked()
        assert not turn._threads.acquire(timeout=0.1)
    assert not turn.locked()


def test_what_takes_a_turn_on_which_database(tmp_path):
    sqlite = create_engine(f"sqlite:///{tmp_path / 'gridbot.db'}")
    assert turn_file(sqlite) == Path(f"{tmp_path / 'gridbot.db'}-turn")
    assert isinstance(write_turn_for(sqlite), WriteTurn)
    memory = create_engine("sqlite://")
    assert turn_file(memory) is None
    assert write_turn_for(memory).path is None  # type: ignore[attr-defined]
    postgres = create_engine("postgresql+psycopg://nobody@127.0.0.1/none")
    assert isinstance(write_turn_for(postgres), nullcontext)


def test_an_error_inside_gives_the_turn_back(tmp_path):
    turn = WriteTurn(tmp_path / "db.sqlite-turn")
    with pytest.raises(RuntimeError), turn:
        raise RuntimeError("the transaction failed")
    other = other_process(tmp_path / "db.sqlite-turn", hold=0.0)
    assert stamp(other, "got") > 0
    other.wait(timeout=10)
