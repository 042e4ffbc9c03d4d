"""The built-in test image's files: where they live and how they are built."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

BUILTIN_NAME = "overcast-testimage"


def builtin_dir(data_dir: Path) -> Path:
    return data_dir / "images" / "builtin"


def build_test_image(out_dir: Path, quiet: bool = False) -> Path:
    """Build the test image unless it is up to date, with a progress bar on a terminal.

    Returns the manifest's path. Raises ImageBuildError when the host lacks an ingredient.
    """
    from overcast.images.testimage import ensure_test_image

    with tqdm(total=1, desc="test image", unit="step", file=sys.stderr,
              disable=True if quiet else None, leave=False) as bar:

        def progress(done: int, total: int, what: str) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_description(f"test image: {what}")

        return ensure_test_image(out_dir, progress)
