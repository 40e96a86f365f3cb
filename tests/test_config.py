"""Paths: the folders that hold the history, cookies and logs are this user's alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pv2simkl.config import Paths, load_settings, platform_dirs, private_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_folders_are_created_0700_parents_too() -> None:
    dirs = platform_dirs()
    missing_parent = dirs.user_data_path.parent  # $XDG_DATA_HOME, not there yet
    assert not missing_parent.exists()
    paths = Paths.from_settings(load_settings(env={}))
    for folder in (paths.data_dir, paths.state_dir, paths.log_dir, missing_parent):
        assert folder.is_dir() and mode(folder) == 0o700, folder
    assert not paths.db.exists()  # folders only: the store is the store's to make


def test_folders_of_an_earlier_version_are_tightened() -> None:
    dirs = platform_dirs()
    for folder in (dirs.user_data_path, dirs.user_state_path, dirs.user_config_path):
        folder.mkdir(parents=True)
        folder.chmod(0o755)
    dirs.user_data_path.parent.chmod(0o755)
    Paths.from_settings(load_settings(env={}))
    for folder in (dirs.user_data_path, dirs.user_state_path, dirs.user_config_path):
        assert mode(folder) == 0o700, folder
    assert mode(dirs.user_data_path.parent) == 0o755  # not pv2simkl's: left alone


def test_a_chosen_data_folder(tmp_path: Path) -> None:
    new = tmp_path / "new" / "history"
    paths = Paths.from_settings(load_settings(env={"PV2SIMKL_DATA_DIR": str(new)}))
    assert mode(new) == mode(new.parent) == 0o700
    assert paths.state_dir == new / "state" and mode(paths.log_dir) == 0o700
    shared = tmp_path / "shared"  # an existing folder of the user's: any folder at all
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    paths = Paths.from_settings(load_settings(env={"PV2SIMKL_DATA_DIR": str(shared)}))
    assert mode(shared) == 0o755
    assert mode(paths.state_dir) == mode(paths.log_dir) == 0o700  # pv2simkl's own


def test_a_folder_that_cannot_be_made_is_left_to_its_writer(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    settings = load_settings(env={"PV2SIMKL_DATA_DIR": str(blocker / "data")})
    paths = Paths.from_settings(settings)  # no error here: the store says what is wrong
    assert paths.data_dir == blocker / "data" and not private_dir(paths.data_dir)


def test_a_tight_umask_still_leaves_the_owner_in(tmp_path: Path) -> None:
    old = os.umask(0o777)
    try:
        assert private_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
