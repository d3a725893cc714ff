"""Packaging for textattack-xmtc.

Besides the package, the wheel installs ``textattack_xmtc.pth`` at the root of
site-packages. Python runs it at start-up; its one line imports nothing and
puts a stub finder on ``sys.meta_path``. When ``textattack`` is first imported,
the stub imports the stdlib-only module ``_textattack_xmtc_hook``, which
registers our recipes, models and datasets with the stock ``textattack``
command (TextAttack has no plugin entry points). This is the mechanism coverage
and pytest-cov use for their start-up files. Both files are in the wheel's
RECORD, so ``pip uninstall`` removes them; the hook writes no file anywhere.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH_FILE = "textattack_xmtc.pth"


class BuildPyWithPth(build_py):
    """Copy the start-up ``.pth`` file into the wheel's root."""

    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        self.copy_file(os.path.join(here, PTH_FILE), os.path.join(self.build_lib, PTH_FILE))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH_FILE)]


setup(cmdclass={"build_py": BuildPyWithPth})
