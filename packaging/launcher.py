"""The bundle's entry script: PyInstaller starts here (the wheel uses `app.main:main` instead)."""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main())
