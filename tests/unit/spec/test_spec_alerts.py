"""Alert rules in a workflow: what is accepted, what is refused (naming the field), and YAML's
`on:` read as the key it was written as."""

from __future__ import annotations

import pytest

from shoal.spec import SpecError, dump_yaml, load_text
from shoal.spec.alerts import AlertRule, parse_rules, redact_url

TASKS = "tasks:\n  - {name: a, type: shell, command: 'true'}\n"


def _alerts(rules: str) -> str:
    return f"name: w\n{TASKS}alerts:\n{rules}"


def test_yaml_on_is_the_events_key_and_a_single_value_is_a_list() -> None:
    [wf] = load_text(_alerts("  - on: failure\n    email: oncall@example.com\n"))
    assert wf.alerts == [AlertRule(on=["failure"], email=["oncall@example.com"])]
    assert "'on': [failure]" in dump_yaml(wf)  # quoted on the way out: read back as the same key
    assert load_text(dump_yaml(wf)) == [wf]


def test_no_alerts_key_means_the_project_default_and_an_empty_list_means_none() -> None:
    [inherits] = load_text(f"name: w\n{TASKS}")
    [silent] = load_text(f"name: w\n{TASKS}alerts: []\n")
    assert inherits.alerts is None and silent.alerts == []
    assert "alerts" not in inherits.to_dict() and silent.to_dict()["alerts"] == []
    assert inherits.spec_hash() != silent.spec_hash()


@pytest.mark.parametrize(("rule", "message"), [
    ("on: [failure, failure]\n    webhook: https://h.example.com/", "listed twice"),
    ("on: []\n    webhook: https://h.example.com/", "at least 1 item"),
    ("on: [success]\n    after: 10m\n    webhook: https://h.example.com/", "applies to long_running only"),
    ("on: [long_running]\n    after: 0s\n    webhook: https://h.example.com/", "greater than 0"),
    ("on: [failure]\n    webhook: 'javascript:alert(1)'", "use an http:// or https:// URL"),
    ("on: [failure]\n    webhook: 'https://h.example.com/a b'", "whitespace"),
    ("on: [failure]\n    email: ['a@example.com\\nBcc: all@example.com']", "invalid email address"),
    ("on: [failure]\n    email: ['a@example.com, b@example.com']", "one address per list item"),
    ("on: [failure]\n    email: [not-an-address]", "invalid email address"),
    ("on: [failure]\n    sms: '+1555'", "unknown key 'sms'"),
    ("on: [failure]", "needs somewhere to send to"),
])
def test_a_bad_rule_is_refused_naming_its_field(rule: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        load_text(_alerts(f"  - {rule}\n"))
    assert message in str(info.value) and "alerts[0]" in str(info.value)


def test_rules_as_plain_data_are_checked_the_same_way() -> None:
    assert parse_rules([{"on": ["retry"], "webhook": "https://h.example.com/x"}])[0].on == ["retry"]
    with pytest.raises(ValueError, match="unknown event"):
        parse_rules([{"on": ["explode"], "webhook": "https://h.example.com/x"}])


@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/…"),
    ("https://user:pw@h.example.com:8443/x?token=1", "https://h.example.com:8443/…"),
    ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
])
def test_a_webhook_is_shown_by_its_scheme_and_host_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown
