"""The grader: exercises as data, the student's ``check()``, batch grading and release.

Modules, one concept each:

- ``exercise``: Exercise, Check and the helpers checks are written with.
- ``catalog``: the course's exercises and the instructor's extra (hidden) checks.
- ``runner``: runs an exercise's checks against the student's code; gives a Report.
- ``report``: the feedback table, as HTML (Jupyter), text (terminal) and Markdown.
- ``student``: the student's code behind a handle, in the kernel or in a sandbox.
- ``sandbox`` / ``child``: the grader's and the sandboxed process's side of running a submission.
- ``appserver``: runs a student's FastAPI app on a free port for the checks to drive.
- ``notebook``: reading notebooks: code cells, exercise ids, outputs.
- ``release``: writes ``exercises/`` (starters) from ``solutions/``.
- ``batch`` / ``gradebook`` / ``progress``: ``lab grade`` and what it writes.
- ``services``: the private shop each grading worker resets before every submission.
- ``commands``: the ``lab grade`` and ``lab release`` argument parsers.

This package stays cheap to import: the sandboxed child imports it before the student's code runs.
"""
