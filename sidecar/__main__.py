"""``python -m sidecar`` is the ``wa-sidecar`` command."""

from sidecar.cli import main

if __name__ == "__main__":
    main()
