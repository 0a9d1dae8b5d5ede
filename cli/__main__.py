"""`python -m occreid.cli` and `torchrun -m occreid.cli` entry point."""

from occreid.cli.main import main

if __name__ == "__main__":
    main()
