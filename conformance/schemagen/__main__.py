"""``python -m conformance.schemagen``: rebuild conformance/suite/schemas/ from the specs in ../shared/specs, or
``--check`` that the committed files match a fresh build (exit 1 naming the stale ones)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import DEFAULT_OUT, DEFAULT_SPEC_DIR, build_all, diff, write


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.schemagen", description=__doc__)
    ap.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC_DIR, help="directory holding the specs")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (schemas/)")
    ap.add_argument("--check", action="store_true", help="exit 1 if committed files differ from a fresh build")
    args = ap.parse_args(argv)
    if not args.spec_dir.is_dir():
        print(f"spec directory not found: {args.spec_dir}", file=sys.stderr)
        return 2
    files = build_all(args.spec_dir)
    if args.check:
        problems = diff(files, args.out)
        if problems:
            print(f"schemas out of date ({len(problems)}): " + "; ".join(problems)
                  + " - run python -m conformance.schemagen")
            return 1
        print(f"schemas up to date ({len(files)} files)")
        return 0
    written = write(files, args.out)
    print(f"wrote {len(written)} of {len(files)} files to {args.out}" + (f": {', '.join(written)}" if written else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
