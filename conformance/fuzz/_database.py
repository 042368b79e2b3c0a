"""Where failing examples are kept between runs, one namespace per target, so a rerun tries them first."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase


class FuzzDatabase(ExampleDatabase):
    """hypothesis's directory database with every key prefixed by ``namespace`` (kind, provider, model, profile):
    the examples embed the model id, so one target's failures are no use to another.

    ``replay=False`` (a run with ``--fuzz-seed``): failures are still saved for later runs, but none is read, so
    the seed alone decides which examples run and a seeded run reproduces exactly."""

    def __init__(self, path: Path, namespace: str, replay: bool = True) -> None:
        super().__init__()
        self.inner = DirectoryBasedExampleDatabase(str(path))
        self.prefix = namespace.encode("utf-8") + b"\x00"
        self.replay = replay

    def save(self, key: bytes, value: bytes) -> None:
        self.inner.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        if not self.replay:
            return iter(())
        return self.inner.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self.inner.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.inner.move(self.prefix + src, self.prefix + dest, value)
