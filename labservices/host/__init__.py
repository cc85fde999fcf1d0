"""One process for every lab HTTP service: ``python -m labservices.host`` (see ``__main__.py``).

``host.Host`` runs each declared service on its own port in one asyncio loop
(``runner.Runner``), moves one into a process of its own on request
(``isolated.IsolatedRunner``), watches the shared loop for code that blocks it
(``watchdog.LoopWatchdog``) and answers `lab`'s control calls (``control``).
"""
