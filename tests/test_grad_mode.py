"""no_grad() and enable_grad() are per thread, as in PyTorch."""

from __future__ import annotations

import threading

import chainrule as cr


def _run_in_threads(*targets) -> None:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_no_grad_in_one_thread_leaves_other_threads_recording() -> None:
    inside, finished = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def quiet() -> None:
        with cr.no_grad():
            seen["quiet records"] = (cr.tensor([1.0], requires_grad=True) * 2).requires_grad
            inside.set()
            finished.wait(timeout=10)

    def busy() -> None:
        inside.wait(timeout=10)
        seen["busy records"] = (cr.tensor([1.0], requires_grad=True) * 2).requires_grad
        seen["busy enabled"] = cr.is_grad_enabled()
        finished.set()

    _run_in_threads(quiet, busy)
    assert seen == {"quiet records": False, "busy records": True, "busy enabled": True}
    assert cr.is_grad_enabled() and (cr.tensor([1.0], requires_grad=True) * 2).requires_grad


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on() -> None:
    # thread A enters, thread B enters, A leaves, B leaves: with one process-wide flag B restored "off"
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with cr.no_grad():
            a_in.set()
            b_in.wait(timeout=10)
        a_out.set()

    def second() -> None:
        a_in.wait(timeout=10)
        with cr.no_grad():
            b_in.set()
            a_out.wait(timeout=10)

    _run_in_threads(first, second)
    assert cr.is_grad_enabled()
    assert (cr.tensor([1.0], requires_grad=True) * 2).grad_fn is not None


def test_a_new_thread_starts_with_recording_on_even_inside_no_grad() -> None:
    seen = []
    with cr.no_grad():
        _run_in_threads(lambda: seen.append((cr.tensor([1.0], requires_grad=True) * 2).requires_grad))
        assert not cr.is_grad_enabled()
    assert seen == [True]
