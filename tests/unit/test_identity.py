"""snarl.identity names the modules of snarl.sync and snarl.runtime instead of listing their
folders (a process running snarl from another user's installation may not read them): the
names must be exactly the folders' modules."""

from __future__ import annotations

from pathlib import Path

from snarl import identity

PACKAGE = Path(identity.__file__).resolve().parent


def _modules(folder: str) -> set[str]:
    return {p.stem for p in (PACKAGE / folder).glob("*.py")}


def test_the_named_modules_are_the_folders_modules():
    assert set(identity.SYNC_MODULES) == _modules("sync")
    assert set(identity.RUNTIME_MODULES) == _modules("runtime")


def test_every_internal_file_exists():
    assert identity.INTERNAL_FILES
    assert all(Path(f).is_file() for f in identity.INTERNAL_FILES)
