"""Entry point for the `kubectl-kata` / `oc-kata` executables and `python -m kubectl_kata`."""
import sys


def main() -> None:
    from .cli import main as run

    sys.exit(run())


if __name__ == "__main__":
    main()
