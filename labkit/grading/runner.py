"""Running an exercise's checks against the student's code: the one engine behind check() and lab grade.

Each check runs on its own: a failure, the student's exception or a dead service
becomes that check's ✗ with a sentence saying why, never a traceback, and the
next check still runs.
"""
from __future__ import annotations

import logging
import threading

import requests

from . import text
from .exercise import Check, CheckFailed, Context, Exercise
from .report import Report, Result
from .student import StudentError
from .titles import title

log = logging.getLogger("labkit.grading")


def service_down_notice(name: str, address: str) -> str:
    return (f"Сервіс {name} не відповідає за адресою {address}. Запустіть стек командою `lab up` "
            f"(або перевірте змінну LAB_{name.upper()}_URL) і запустіть перевірку ще раз.")


def service_up(address: str | None) -> bool:
    if not address:
        return False
    try:
        return requests.get(address + "/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def unearned(check: Check, message: str = "") -> Result:
    """``check``'s row before it runs (or when it cannot): no points yet, its Ukrainian title and hint."""
    return Result(check.id, check.description, check.points, 0, False, message=message, hint=check.hint_uk,
                  title=title(check.id, check.description))


def run_check(check: Check, ctx: Context) -> Result:
    result = unearned(check)
    try:
        for name in check.uses:
            if not ctx.student.has(name):
                raise StudentError("missing", name)
        check.run(ctx)
    except CheckFailed as failed:
        result.expected, result.seen, result.message = failed.expected, failed.seen, failed.message
    except StudentError as error:
        result.message = error.message()
    except (requests.ConnectionError, requests.Timeout) as exc:
        result.message = f"Сервіс не відповів ({type(exc).__name__}). Перевірте `lab status` і спробуйте ще раз."
    except Exception as exc:  # noqa: BLE001 - a bug in a check must not cost the student the other checks
        log.exception("check %s failed inside the checker", check.id)
        result.message = (f"Внутрішня помилка перевірки ({type(exc).__name__}: {exc}). "
                          "Це не ваша помилка: повідомте викладача.")
    else:
        result.passed, result.earned = True, check.points
    # What a check saw may be the submission's text: one bounded line each, whatever the check put there.
    result.expected, result.seen, result.message = (text.clean(v) for v in (result.expected, result.seen,
                                                                            result.message))
    return result


def run_bounded(check: Check, ctx: Context, limit: float) -> Result:
    """``run_check`` within ``limit`` seconds and the time the student has left (``lab grade``).

    A check that runs over stops the sandbox (which ends whatever the check was waiting
    for: a call, the student's app), so a slow or silent submission cannot hold the batch.
    """
    student = ctx.student
    budget = min(limit, student.remaining())
    failed = unearned(check)
    if budget <= 0:
        failed.message = "Не перевірено: час на цю роботу вичерпано."
        return failed
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", run_check(check, ctx)), daemon=True,
                              name=f"lab-check-{check.id}")
    worker.start()
    worker.join(budget)
    if not worker.is_alive():
        if "result" in box:
            return box["result"]
        failed.message = "Внутрішня помилка перевірки. Це не ваша помилка: повідомте викладача."
        return failed
    whole = student.remaining() <= 0
    student.expire(f"The notebook used up its {student.limits.timeout:.0f} s during the check {check.id}."
                   if whole else f"The check {check.id} was stopped after {budget:.0f} s.")
    worker.join(10)
    failed.message = f"Перевірку зупинено: вона тривала понад {budget:.0f} с (повільна або мовчазна відповідь)."
    return failed


def run_exercise(exercise: Exercise, student, services: dict[str, str], check_timeout: float | None = None) -> Report:
    """All of ``exercise``'s checks, in order, against ``student`` and the live ``services``.

    With ``check_timeout`` (``lab grade``), each check runs under :func:`run_bounded`.
    """
    report = Report(exercise.id, exercise.title)
    down = [name for name in exercise.services if not service_up(services.get(name))]
    if down:
        report.notices += [service_down_notice(name, services.get(name, "?")) for name in down]
        for check in exercise.checks:
            report.results.append(unearned(check, message="Не перевірено: сервіс недоступний."))
        return report
    ctx = Context(student=student, services=services)
    try:
        for check in exercise.checks:
            report.results.append(run_check(check, ctx) if check_timeout is None
                                  else run_bounded(check, ctx, check_timeout))
    finally:
        if exercise.teardown is not None:
            try:
                exercise.teardown(ctx)
            except Exception:  # noqa: BLE001 - cleaning up must not cost the student anything
                log.warning("cleaning up after %s failed", exercise.id, exc_info=True)
    return report
