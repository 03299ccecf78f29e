"""`python -m relink.sandbox`: run the sandbox provider (same options as `relink sandbox serve`)."""

from relink.sandbox.cli import main

if __name__ == "__main__":
    main()
