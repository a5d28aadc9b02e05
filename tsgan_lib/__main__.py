"""``python -m tsgan_lib``: the command line (:mod:`tsgan_lib.cli`)."""

from tsgan_lib.cli import main

raise SystemExit(main())
