"""`python -m fresco` does what the `fresco` console script does."""

from fresco.cli import main

if __name__ == "__main__":
    main()
