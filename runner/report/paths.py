"""Where a file can be written: the one question the options and the report writer share."""

from __future__ import annotations

from pathlib import Path


def file_in_the_way(folder: str | Path) -> Path | None:
    """The file that stops `folder` from being (or becoming) a folder: `folder` itself, or the
    nearest of its parents that exists, when that is not a folder. None when nothing does."""
    for place in (Path(folder), *Path(folder).parents):
        if place.exists():
            return None if place.is_dir() else place
    return None
