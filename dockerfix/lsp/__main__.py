"""`python -m dockerfix.lsp`: the server without the CLI's start-up."""

import sys

from . import serve

sys.exit(serve(sys.argv[1:]))
