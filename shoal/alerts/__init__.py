"""Alerts: telling people of a run's failure, success, timeout, retry or long run.

    outbox.py    the alert_deliveries rows: what an event records (one row per channel and
                 target, at most once per event), the JSON payload, reading and claiming them
    channels.py  sending one delivery: a webhook (a JSON POST) or an email (SMTP)
    notifier.py  the Notifier: a thread that sends due deliveries, retries them with backoff
                 and records each outcome; never raises into its caller

The rules live with the definitions (`shoal.spec.alerts`); the engine records deliveries in the
transaction of the state change that raises them (`shoal.engine.alerts`), so an event is never
lost nor told twice however the driver stops; the scheduler runs a Notifier, and so does a
waiting command that drives its own runs. A package of its own, beside the executors, because
delivery talks to the outside world with its own timeouts and retries: nothing here moves a run
or a task, and a failure here never reaches one.
"""
