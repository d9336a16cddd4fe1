"""The live operator picture (``trilink serve``; see ``docs/web.md``).

- :mod:`trilink.web.picture`: a run folder as one viewer may see it (the hub's view,
  or a partner's built from its release stream), as time-indexed layers;
- :mod:`trilink.web.server`: the Starlette app (the built page, one WebSocket
  playback session per page) and the uvicorn runner;
- :mod:`trilink.web.live`: a scenario's run, computed once and cached, for live mode.
"""
