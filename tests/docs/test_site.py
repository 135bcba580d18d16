"""The documentation site builds without a warning, and the README stays a front door."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README_LIMIT = 12 * 1024
SCREENSHOT_LIMIT = 200 * 1000


def test_it_builds_the_docs_site_strictly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's banner about a future MkDocs
    )
    assert result.returncode == 0, result.stderr
    # --strict stops on warnings; this also catches one printed by a plugin that does not count them.
    assert "WARNING" not in result.stderr, result.stderr
    assert (tmp_path / "site" / "configuration" / "index.html").exists()


def test_it_keeps_the_readme_short_with_the_two_commands_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) <= README_LIMIT, f"README.md is {len(readme.encode())} bytes"
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    assert "mkdocs serve" in readme


def test_it_keeps_the_docs_images_small():
    images = sorted((ROOT / "docs" / "img").glob("*.png"))
    assert images
    too_big = {image.name: image.stat().st_size for image in images if image.stat().st_size > SCREENSHOT_LIMIT}
    assert not too_big, f"over {SCREENSHOT_LIMIT} bytes: {too_big}"
