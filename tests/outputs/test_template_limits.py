"""Webhook templates render in worker processes with hard limits: whatever a template does, the
server process neither stalls past the deadline nor grows."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator

import pytest

from mantissa_log.outputs import webhook
from mantissa_log.outputs.template_pool import TemplateError, TemplateLimits, TemplateRenderer
from tests.outputs.helpers import Receiver, make_alert, make_ctx, make_integration, send

LOOPS = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
MEMORY_BOMBS = {
    "center": "{{ 'x'|center(1000000000) }}",
    "indent": "{{ 'x'|indent(1000000000) }}",
    "replace": "{{ ('x' * 100000)|replace('x', 'x' * 50000) }}",
    "format filter": "{{ '%1000000000s'|format('x') }}",
    "percent": "{{ '%1000000000s' % 'x' }}",
    "percent star": "{{ '%*s' % (1000000000, 'x') }}",
    "str.format": "{{ '{:>1000000000}'.format('x') }}",
    "str.format nested width": "{{ '{:{}}'.format('x', 1000000000) }}",
    "str method": "{{ 'x'.ljust(1000000000) }}",
    "join": "{{ (['x' * 100000] * 1)|join('y' * 90000) }}{{ ','.join(['x' * 100000] * 20) }}",
    "repeat": "{{ 'x' * 10000000 }}",
    "power": "{{ 2 ** 100000000 }}",
    "wordwrap": "{{ 'a b'|wordwrap(1000000000) }}",
    "slice": "{{ [1, 2]|slice(1000000000)|list }}",
    "doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "output": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "lipsum": "{{ lipsum(1000000000) }}",
}  # fmt: skip


@pytest.fixture
def renderer() -> Iterator[TemplateRenderer]:
    pool = TemplateRenderer(TemplateLimits(cpu_seconds=1.0, wall_seconds=2.0, max_workers=3))
    yield pool
    pool.close()


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_nested_loops_stop_at_the_cpu_limit_and_are_quarantined(renderer: TemplateRenderer) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        renderer.render(LOOPS, {})
    assert time.monotonic() - started < 3.5
    assert caught.value.kind == "limit"
    assert "CPU" in caught.value.message or "within" in caught.value.message
    started = time.monotonic()
    with pytest.raises(TemplateError, match="exceeded its limits recently"):
        renderer.render(LOOPS, {})
    assert time.monotonic() - started < 0.1  # the second alert costs nothing
    assert renderer.render("{{ alert.x }}", {"x": "still fine"}) == b"still fine"


@pytest.mark.parametrize("template", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
def test_filters_and_operators_cannot_build_huge_values(renderer: TemplateRenderer, template: str) -> None:
    before = _rss_peak_mb()
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        renderer.render(template, {})
    assert time.monotonic() - started < 3.5
    assert caught.value.kind in ("limit", "render"), caught.value.message
    assert _rss_peak_mb() - before < 50  # all of it happened in the worker, not here


def test_a_bad_template_does_not_delay_another_render(renderer: TemplateRenderer) -> None:
    def loop_forever() -> None:
        with pytest.raises(TemplateError):
            renderer.render(LOOPS + " ", {})

    # Two workers started beforehand, so the timing below measures waiting on the bad render, not a
    # process start (which alone can take most of a second on a loaded machine).
    warm = [renderer._acquire(), renderer._acquire()]
    for worker in warm:
        renderer._release(worker)
    bad = threading.Thread(target=loop_forever)
    bad.start()
    time.sleep(0.3)  # the loop is running in its worker now
    started = time.monotonic()
    assert renderer.render("{{ alert.n }}", {"n": 7}) == b"7"
    assert time.monotonic() - started < 1.0
    bad.join()


def test_a_killed_worker_is_replaced(renderer: TemplateRenderer) -> None:
    assert renderer.render("{{ 1 + 1 }}", {}) == b"2"
    for worker in list(renderer._idle):
        worker.process.kill()
        worker.process.wait()
    assert renderer.render("{{ 2 + 2 }}", {}) == b"4"


def test_the_worker_has_no_environment_and_cannot_write(renderer: TemplateRenderer) -> None:
    with pytest.raises(TemplateError) as caught:
        renderer.render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    assert caught.value.kind == "render"
    assert "unsafe" in caught.value.message


def test_the_sender_reports_a_permanent_failure(receiver: Receiver) -> None:
    integration = make_integration(
        "webhook", {"url": receiver.url + "/hook", "payload_template": "custom", "template": LOOPS}, secret=None
    )
    started = time.monotonic()
    result = send(make_alert(), integration, make_ctx())
    assert time.monotonic() - started < 3.5
    assert (result.ok, result.retryable) == (False, False)
    assert "webhook template exceeded its limits" in result.message
    assert receiver.requests == []


def test_save_time_check_refuses_syntax_and_limits_but_not_missing_sample_fields() -> None:
    config = webhook.WebhookConfig(url="https://example.com/hook", payload_template="custom", template=LOOPS)
    with pytest.raises(webhook.ValidationFailed) as caught:
        webhook.check_config(config, make_ctx())
    assert caught.value.field == "config.template"
    broken = config.model_copy(update={"template": "line one\n{% if %}"})
    with pytest.raises(webhook.ValidationFailed) as caught:
        webhook.check_config(broken, make_ctx())
    assert caught.value.line == 2
    fine = config.model_copy(update={"template": "{{ alert.samples[0].requestParameters.bucketName }}"})
    webhook.check_config(fine, make_ctx())
