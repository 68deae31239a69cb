"""The script Streamlit runs (``streamlit run .../script.py -- [SCENARIO]``): the page itself
is :func:`simfunnel.app.page.main`; this file only hands it the command line."""

from __future__ import annotations

import sys

from simfunnel.app.page import main

if __name__ == "__main__":
    main(sys.argv[1:])
