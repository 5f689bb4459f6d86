"""Seeing what happened: explanations of a forward and backward pass (text, Markdown, LaTeX, HTML), number formatting, graph drawings."""
