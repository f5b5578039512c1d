"""``python -m embedplug``: the ``embedplug`` command line."""

from embedplug.cli import main

if __name__ == "__main__":
    main()
