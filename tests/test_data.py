"""Shipped data: checksums, shapes, clear errors for missing or corrupted files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from bn_helpers import load_digits, load_mnist1d
from bn_helpers.data import CHECKSUMS, DATA_DIR, sha256_of

ROOT = Path(__file__).resolve().parent.parent


def test_digits():
    d = load_digits()
    assert d.X_train.shape == (64, 1297) and d.X_test.shape == (64, 500)
    assert d.X_train.dtype == np.float64 and d.y_train.dtype == np.int64
    assert d.X_train.min() == 0 and d.X_train.max() == 16
    np.testing.assert_array_equal(np.bincount(d.y_test), np.full(10, 50))  # stratified split
    assert set(np.unique(d.y_train)) == set(range(10))


def test_mnist1d():
    d = load_mnist1d()
    assert d.X_train.shape == (40, 4000) and d.X_test.shape == (40, 1000)
    assert set(np.unique(d.y_train)) == set(range(10))
    # make_dataset centres and scales the whole set
    assert abs(np.concatenate([d.X_train, d.X_test], axis=1).mean()) < 1e-8


def test_checksums_are_the_ones_documented():
    readme = (ROOT / "data" / "README.md").read_text()
    for name, digest in CHECKSUMS.items():
        assert sha256_of(DATA_DIR / f"{name}.npz") == digest
        assert re.search(rf"{name}\.npz.*\n(.*\n)*?.*{digest}", readme), f"{name} checksum missing in data/README.md"


def test_missing_file_says_how_to_restore(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"digits\.npz is missing.*git checkout.*make data"):
        load_digits(data_dir=tmp_path)


def test_missing_data_folder_says_how_to_reinstall(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*ship inside the package.*pip install \."):
        load_digits(data_dir=tmp_path / "nowhere")


def test_a_wheel_carries_the_data_and_loads_it_in_a_clean_environment(tmp_path):
    """`pip install .` or a built wheel, as a JupyterHub image or a shared server installs the package."""
    import subprocess
    import sys
    import sysconfig
    import zipfile

    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
                            str(ROOT)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = dist.glob("bn_helpers-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"bn_helpers/_data/digits.npz", "bn_helpers/_data/mnist1d.npz"} <= set(names)
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bn_helpers").rglob("*.py")}
    assert modules <= set(names), f"modules missing from the wheel: {sorted(modules - set(names))}"
    # A fresh venv; numpy and the rest come from this environment's site-packages (a plain path, so the
    # editable install's own hooks there do not run): the only bn_helpers it can import is the wheel's.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (Path(site) / "course_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                              str(wheel)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    check = ("import bn_helpers\n"
             "from bn_helpers import load_digits, load_mnist1d\n"
             "from bn_helpers.data import DATA_DIR\n"
             "from bn_helpers.checks import check_batchnorm_forward\n"
             "d, m = load_digits(), load_mnist1d()\n"
             "print(bn_helpers.__file__, DATA_DIR, d.X_train.shape, m.X_train.shape)\n")  # fmt: skip
    out = subprocess.run([str(python), "-c", check], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    module, data_dir, digits_shape, mnist_shape = out.stdout.split(" ", 3)
    assert module.startswith(site) and data_dir.startswith(site)  # the wheel's copy, not the repository's
    assert "(64, 1297)" in out.stdout and "(40, 4000)" in out.stdout


def test_corrupted_file_is_rejected(tmp_path):
    shutil.copy(DATA_DIR / "mnist1d.npz", tmp_path / "mnist1d.npz")
    with open(tmp_path / "mnist1d.npz", "r+b") as f:
        f.seek(5000)
        byte = f.read(1)
        f.seek(5000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match=r"mnist1d\.npz is corrupted.*sha256.*expected.*make data"):
        load_mnist1d(data_dir=tmp_path)


def test_loading_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_digits().X_train.shape == (64, 1297)
