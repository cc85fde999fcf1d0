"""The grader: exercises as data, the student's ``check()``, batch grading and release.

Modules, one concept each:

- ``exercise``: Exercise, Check and the helpers checks are written with.
- ``catalog``: the course's exercises and the instructor's extra (hidden) checks.
- ``runner``: runs an exercise's checks against the student's code; gives a Report.
- ``report``: the feedback table, as HTML (Jupyter), text (terminal) and Markdown.
- ``student``: the student's code behind a handle, in the kernel or in a sandbox.
- ``sandbox`` / ``child``: the grader's and the sandboxed process's side of running a submission;
  ``process``: one start of the child as the grader holds it; ``protocol``: what passes between
  them, and what the grader accepts as an answer; ``endpoints``: where the sandbox may connect.
- ``jail`` / ``bridge`` / ``cgroup``: how the child shuts itself in (namespaces, a new root, no
  privilege), its network, and the cgroup the grader keeps it in.
- ``appserver``: runs a student's FastAPI app on a socket for the checks to drive.
- ``notebook``: reading notebooks, submitted ones as untrusted data: code cells, exercise ids, outputs.
- ``submissions``: finding the submissions (folders, Moodle's folders or zip), regular files only.
- ``release``: writes ``exercises/`` (starters) from ``solutions/``.
- ``batch`` / ``graded`` / ``gradebook`` / ``progress`` / ``text``: ``lab grade``, its results, what it
  writes, and student text made safe for each output.
- ``services``: the private shop each grading worker resets before every submission.
- ``brokers`` / ``guards`` / ``kafka_namespace``: the lab's brokers, fenced off per submission.
- ``commands``: the ``lab grade`` and ``lab release`` argument parsers.

This package stays cheap to import: the sandboxed child imports it before the student's code runs.
"""
