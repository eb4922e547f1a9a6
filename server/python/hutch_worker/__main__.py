"""``python -m hutch_worker``: claim the standard streams for the protocol, then run the worker.

The streams are claimed before anything else is imported, so that nothing (not even an import
that prints) can write into the protocol. See :mod:`.stdio`.
"""

import sys

from .stdio import claim_stdio

if __name__ == "__main__":
    _proto_in, _proto_out = claim_stdio()

    from .worker import main

    sys.exit(main(_proto_in, _proto_out))
