"""Finding the ``problem.yaml`` files below a directory the way Djinn's registry does, and a little more.

Every folder below the root is searched (not only the first level), symlinked folders and files are
followed, and a symlink that leads back to a folder on its own path (a loop) is refused with its
place and reason instead of being walked forever. A folder reached twice through different links is
searched once, from the first path in sorted order.
"""

from __future__ import annotations

import os
from pathlib import Path

from hackwatch.tasks._schema import TaskError

PROBLEM_FILE = "problem.yaml"


def find_problem_files(root: Path) -> tuple[list[Path], list[TaskError]]:
    """Every ``problem.yaml`` below ``root`` in sorted path order, and one error per place not walked
    (a symlink loop, a broken symlink, an unreadable folder).
    """
    found: list[Path] = []
    errors: list[TaskError] = []
    seen: dict[tuple[int, int], Path] = {}

    def walk(folder: Path, ancestors: tuple[tuple[int, int], ...]) -> None:
        try:
            st = folder.stat()
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            errors.append(TaskError(str(folder), None, None, f"folder cannot be read ({exc.strerror or exc}); "
                                                             "skipped"))
            return
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            errors.append(TaskError(str(folder), None, None, f"symlink loop: leads back to {seen[key]}, which "
                                                             "contains it; not followed"))
            return
        if key in seen:
            return  # the same folder through another link: searched once already
        seen[key] = folder
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.name == PROBLEM_FILE and entry.is_file():
                    found.append(path)
                elif entry.is_dir():
                    walk(path, (*ancestors, key))
                elif entry.is_symlink() and not path.exists():
                    errors.append(TaskError(str(path), None, None,
                                            f"broken symlink (to {os.readlink(path)}); skipped"))
            except OSError as exc:
                errors.append(TaskError(str(path), None, None, f"cannot be read ({exc.strerror or exc}); skipped"))

    walk(root, ())
    return sorted(found, key=str), errors


__all__ = ["PROBLEM_FILE", "find_problem_files"]
