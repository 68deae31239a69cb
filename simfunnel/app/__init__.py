"""The what-if page: a web app a sales leader opens without Python, to move the levers of a
scenario (MQL threshold, toss-up criteria, headcount per team, lead volume) and see wins,
value, capacity and speed-to-lead change against today's settings.

Start it with ``simfunnel app [SCENARIO]`` or :func:`launch`. The computation is in plain
functions (``settings`` -> overrides, ``runs`` -> short cached runs on common random numbers,
``figures`` and ``charts`` -> tidy figures and chart specs, ``inputs`` and ``downloads`` ->
files in and out), tested without a browser; ``page`` and ``views`` only lay them out, and
``cache`` keeps what was run.

Why Streamlit (rather than Panel or Dash): the page is a script rerun from the top at every
change of a control, and a newer change stops a run in progress at the next thing it draws,
so "a newer setting supersedes a run in progress" needs no code of ours; ``st.cache_data``
keyed by the scenario and the settings makes a setting already run come back at once;
sliders apply on release. What it costs: every change reruns the whole script (cheap here:
the simulation is cached, the rest is milliseconds), layout is less free than Dash's, and
state between reruns lives in ``st.session_state``. Dash gives explicit callbacks and finer
layout but needs background callbacks (and a job store) for progress and cancellation;
Panel's reactive parameters are as capable but a larger API for a leader-facing page of
this size.
"""

from __future__ import annotations

from .launcher import launch

__all__ = ["launch"]
