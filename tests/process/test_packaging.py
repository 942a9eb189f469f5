"""The wheel carries the schemas: build it, install it outside the checkout, validate a plan."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.helpers.paths import EXAMPLES, ROOT


def test_installed_wheel_validates_a_plan_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    pip = [sys.executable, "-m", "pip"]
    # No network: the build backend (hatchling) comes from the test environment.
    subprocess.run(
        [
            *pip,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    [wheel] = (tmp_path / "dist").glob("fusion_run-*.whl")

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        env=env,
    )
    # The package comes from the wheel; its dependencies from the test environment, after it.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "outer-dependencies.pth").write_text("\n".join(sorted(outer)) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(EXAMPLES / "quickstart.yaml", work / "plan.yaml")
    where = subprocess.run(
        [str(python), "-c", "import runner; print(runner.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    ).stdout
    assert where.startswith(str(target)), where
    assert (Path(site) / "runner" / "schemas" / "plan.schema.json").is_file()

    result = subprocess.run(
        [str(target / "bin" / "fusion-run"), "plan.yaml", "--validate"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "plan.yaml: valid, 3 step(s)\n")
    bad = work / "bad.yaml"
    bad.write_text("version: 1\nsteps:\n  - job: a\n    timout: 1h\n")
    result = subprocess.run(
        [str(target / "bin" / "fusion-run"), "bad.yaml", "--validate"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        check=False,
    )
    assert (result.returncode, result.stderr) == (
        2,
        "bad.yaml:4:5: $.steps[0].timout: unknown key 'timout' (did you mean 'timeout'?)\n",
    )
