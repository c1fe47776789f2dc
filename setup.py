"""Build hook: the folders a checkout keeps beside the package go into the wheel inside it.

Everything else about the package is declared in pyproject.toml. The templates, the geodata and the migrations
live at the top of the checkout (the tests, the translations' extraction and the seed generator read them
there); a wheel carries them as `recovery/bundled/<name>`, where `recovery.resources` finds them.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# read from the module the app uses, without importing the package (its dependencies may not be installed yet)
BUNDLED_FOLDERS = runpy.run_path(str(ROOT / "recovery" / "resources.py"))["BUNDLED_FOLDERS"]
#: what stays out of the wheel: bytecode, and the geodata's build script (it downloads and rebuilds the layers)
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "build.py")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout's folders
            return
        for name in BUNDLED_FOLDERS:
            target = Path(self.build_lib) / "recovery" / "bundled" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target, ignore=LEFT_OUT)


setup(cmdclass={"build_py": BuildWithData})
