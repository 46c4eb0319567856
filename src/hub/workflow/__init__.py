"""The workflow context: definitions, instances, human tasks, timers, triggers and
document intelligence.

Other contexts reach it only through :mod:`hub.workflow.api`.
"""
