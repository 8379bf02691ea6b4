"""Write a commented example sweep config to start from (the default digits sweep)."""

from __future__ import annotations

from pathlib import Path

from codesign.errors import CodesignError

NAME = "init"
HELP = "write a commented example sweep config"
TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "sweep.toml"


def add_arguments(parser) -> None:
    parser.add_argument("path", type=Path, nargs="?", default=Path("codesign.toml"), help="where to write it (default: codesign.toml)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")


def run(args) -> int:
    from codesign.atomic import check_output, write_file

    check_output(args.path, "config file")
    if args.path.exists() and not args.overwrite:
        raise CodesignError(f"{args.path} already exists; pass --overwrite to replace it")
    if not args.path.parent.is_dir():
        raise CodesignError(f"folder for {args.path} does not exist: {args.path.parent}")
    write_file(args.path, TEMPLATE.read_text())
    print(f"wrote {args.path}; run it with: codesign sweep {args.path}")
    return 0
