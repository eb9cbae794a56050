"""The analysts' web view (``monitor web``): JSON API, live alert stream and dashboard.

Build it with :func:`monitor.web.app.create_web_app`; run it with :mod:`monitor.web.server`.
"""
