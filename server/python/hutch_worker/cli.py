"""Command-line options: where the startup code comes from, as ``start-re-manager`` takes them."""

import argparse
from dataclasses import dataclass

__all__ = ["Options", "parse_args"]


@dataclass(frozen=True)
class Options:
    """The parsed command line. Exactly one of the three startup sources is set."""

    startup_dir: str = None
    startup_script: str = None
    startup_module: str = None
    assets: str = None

    @property
    def source_text(self):
        """The startup source in words, for messages."""
        if self.startup_dir is not None:
            return f"startup directory {self.startup_dir}"
        if self.startup_script is not None:
            return f"startup script {self.startup_script}"
        return f"startup module {self.startup_module}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m hutch_worker",
        description="hutch's worker: runs a bluesky startup profile in a RunEngine and speaks "
        "hutch's worker protocol (newline-delimited JSON) on stdin/stdout.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--startup-dir",
        help="directory of startup files (*.py, *.ipy), loaded in alphabetical order, as an "
        "IPython profile's startup directory",
    )
    source.add_argument("--startup-script", help="one Python file to execute as the startup code")
    source.add_argument("--startup-module", help="an importable module whose namespace is the startup code")
    parser.add_argument(
        "--assets",
        help="hutch's assets directory for files plans write (available to plan code through "
        "hutch_worker.helpers.assets_dir())",
    )
    a = parser.parse_args(argv)
    return Options(a.startup_dir, a.startup_script, a.startup_module, a.assets)
