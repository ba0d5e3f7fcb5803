"""`python -m zoo …` is the same as the `zoo` command (and works under torchrun)."""

from zoo.cli import main

if __name__ == "__main__":
    main()
