import sys

from apps.uploader.cli import main

sys.exit(main())
