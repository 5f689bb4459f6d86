"""Worked examples from the documents chainrule was founded on, runnable with ``chainrule demo``."""
