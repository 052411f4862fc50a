"""Renderers: each turns the results model into one format and decides nothing.

Every renderer reads the same masked plain data (``RunResults.to_dict()``),
so no renderer can show a secret the model does not. The pytest side
(when reports are written, JUnit and pytest-html hooks) is in
``pytest_golive.integration.reporting``.
"""
